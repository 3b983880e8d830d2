"""Higher-order helpers: vjp, jvp, jacobian, hessian, vhp, hvp (built on autograd.grad)."""

import numpy as np

from ember._ops.shape import stack
from ember._tensor import Tensor, wrap
from ember.autograd.engine import grad

__all__ = ["vjp", "jacobian", "hessian", "hvp", "vhp", "jvp"]


def _tuple(x):
    return (x,) if isinstance(x, Tensor) else tuple(x)


def _prepare(inputs):
    return tuple(t.detach().requires_grad_(True) for t in _tuple(inputs))


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J)."""
    single = isinstance(inputs, Tensor)
    ins = _prepare(inputs)
    out = func(*ins)
    gs = grad(out, ins, v, create_graph=create_graph, allow_unused=True)
    gs = tuple(wrap(np.zeros_like(i._data)) if g is None else g for g, i in zip(gs, ins))
    res = out if create_graph else out.detach()
    return res, gs[0] if single else gs


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False):
    """The Jacobian of ``func`` at ``inputs``, one row of vector-Jacobian products at a time."""
    single = isinstance(inputs, Tensor)
    ins = _prepare(inputs)
    out = func(*ins)
    flat = out.reshape(-1)
    rows = [[] for _ in ins]
    for k in range(flat.shape[0]):
        gs = grad(flat[k], ins, retain_graph=True, create_graph=create_graph, allow_unused=True)
        for j, (g, i) in enumerate(zip(gs, ins)):
            rows[j].append(wrap(np.zeros_like(i._data)) if g is None else g)
    jac = tuple(stack(r).reshape(tuple(out.shape) + tuple(i.shape)) for r, i in zip(rows, ins))
    return jac[0] if single else jac


def hessian(func, inputs, create_graph=False, strict=False):
    """The Hessian of a scalar ``func`` at ``inputs``."""
    single = isinstance(inputs, Tensor)

    def gradient(*xs):
        return grad(func(*xs), xs, create_graph=True)[0]

    if not single:
        raise NotImplementedError("ember's hessian takes one input tensor")
    return jacobian(gradient, inputs, create_graph=create_graph)


def vhp(func, inputs, v, create_graph=False, strict=False):
    """(func(inputs), v^T H)."""
    single = isinstance(inputs, Tensor)
    ins = _prepare(inputs)
    out = func(*ins)
    gs = grad(out, ins, create_graph=True)
    hv = grad(gs, ins, _tuple(v), create_graph=create_graph)
    return out.detach(), hv[0] if single else hv


hvp = vhp  # the Hessian is symmetric


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v) through the double-vjp trick."""
    single = isinstance(inputs, Tensor)
    ins = _prepare(inputs)
    out = func(*ins)
    u = wrap(np.zeros_like(out._data), requires_grad=True)
    (g,) = (grad(out, ins, u, create_graph=True),)
    jv = grad(g, u, _tuple(v), create_graph=create_graph)[0]
    return out.detach(), jv if single else (jv,)
