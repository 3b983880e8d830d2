"""ember.func's grad, vjp, jvp, jacrev, jacfwd and hessian against torch.func (float64)."""

import numpy as np
import pytest
import torch
import torch.func as tf

import ember
import ember.func as ef

RTOL, ATOL = 1e-6, 1e-9


def _pair(*arrays):
    return [ember.tensor(a) for a in arrays], [torch.tensor(a) for a in arrays]


def _close(a, b):
    """Same structure, same values: ember result ``a`` against torch result ``b``."""
    if isinstance(b, torch.Tensor):
        assert isinstance(a, ember.Tensor), type(a)
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=RTOL, atol=ATOL)
    elif isinstance(b, dict):
        assert set(a) == set(b)
        for k in b:
            _close(a[k], b[k])
    elif isinstance(b, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            _close(x, y)
    else:
        assert a == b


def _scalar_fn(lib):
    def f(x, y):
        return (lib.sin(x) * y).sum() + (x**2 * y.exp()).mean()

    return f


def _vector_fn(lib):
    def f(x, y):
        return lib.tanh(x @ y), (x * x).sum(0)

    return f


RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4))
Y = RNG.standard_normal((3, 4))
W = RNG.standard_normal((4, 2))


@pytest.mark.parametrize("argnums", [0, 1, (0, 1), (1,), -1])
def test_grad_and_value_match_torch(argnums):
    (ex, ey), (tx, ty) = _pair(X, Y)
    _close(ef.grad(_scalar_fn(ember), argnums)(ex, ey), tf.grad(_scalar_fn(torch), argnums)(tx, ty))
    _close(
        ef.grad_and_value(_scalar_fn(ember), argnums)(ex, ey),
        tf.grad_and_value(_scalar_fn(torch), argnums)(tx, ty),
    )


def test_grad_has_aux_and_pytree_inputs():
    def make(lib):
        def f(params, x):
            out = (params["w"] * x).sum() + params["b"][0] ** 3
            return out, {"out": out, "x": [x]}

        return f

    params = {"w": RNG.standard_normal(4), "b": RNG.standard_normal(2)}
    ours = ef.grad(make(ember), has_aux=True)(
        {k: ember.tensor(v) for k, v in params.items()}, ember.tensor(X)
    )
    theirs = tf.grad(make(torch), has_aux=True)(
        {k: torch.tensor(v) for k, v in params.items()}, torch.tensor(X)
    )
    _close(ours, theirs)
    assert not ours[1]["out"].requires_grad


def test_non_tensor_aux_is_an_error_as_in_torch():
    for func, lib in ((ef, ember), (tf, torch)):
        with pytest.raises(RuntimeError, match="unsupported type"):
            func.grad(lambda x: (x.sum(), "aux"), has_aux=True)(lib.ones(2))


def test_nested_grad_gives_second_and_third_derivatives():
    def make(lib):
        return lambda x: lib.sin(x) * x**3

    for order in (2, 3):
        ours, theirs = make(ember), make(torch)
        for _ in range(order):
            ours, theirs = ef.grad(ours), tf.grad(theirs)
        _close(ours(ember.tensor(0.7)), theirs(torch.tensor(0.7)))


def test_grad_of_closure_keeps_levels_apart():
    # d/dx [x * d/dy (x * y)] = d/dx [x * x] = 2x, only if the inner derivative treats x as fixed
    def make(func):
        return func.grad(lambda x: x * func.grad(lambda y: x * y)(x))

    _close(make(ef)(ember.tensor(1.5)), make(tf)(torch.tensor(1.5)))


def test_grad_composes_with_autograd_of_inputs():
    w = ember.tensor(W, requires_grad=True)
    g = ef.grad(lambda x: (x @ w).pow(2).sum())(ember.tensor(X))
    assert g.requires_grad  # w is differentiated by the caller: the gradient keeps its graph
    (gw,) = ember.autograd.grad(g.sum(), w)
    tw = torch.tensor(W, requires_grad=True)
    tg = tf.grad(lambda x: (x @ tw).pow(2).sum())(torch.tensor(X))
    (tgw,) = torch.autograd.grad(tg.sum(), tw)
    _close(gw, tgw)


def test_unused_input_gets_zero_gradient():
    (ex, ey), (tx, ty) = _pair(X, Y)
    _close(ef.grad(lambda x, y: x.sum(), 1)(ex, ey), tf.grad(lambda x, y: x.sum(), 1)(tx, ty))


def test_grad_errors():
    x = ember.tensor(X)
    with pytest.raises(RuntimeError, match="scalar Tensor, got tensor with 2 dims"):
        ef.grad(lambda t: t * 2)(x)
    with pytest.raises(RuntimeError, match="return a Tensor, got float"):
        ef.grad(lambda t: 1.0)(x)
    with pytest.raises(RuntimeError, match="Got argnums=2, but only 1 positional inputs"):
        ef.grad(lambda t: t.sum(), argnums=2)(x)
    with pytest.raises(RuntimeError, match="argnums must be int or Tuple"):
        ef.grad(lambda t: t.sum(), argnums=[0])(x)
    with pytest.raises(RuntimeError, match=r"\(output, aux\) if has_aux is True"):
        ef.grad(lambda t: t.sum(), has_aux=True)(x)
    with pytest.raises(RuntimeError, match="floating point"):
        ef.grad(lambda t: t.sum())(ember.ones(2, dtype=ember.int64))


def test_vjp_matches_torch():
    (ex, ew), (tx, tw) = _pair(X, W)
    out, fn = ef.vjp(_vector_fn(ember), ex, ew)
    tout, tfn = tf.vjp(_vector_fn(torch), tx, tw)
    _close(out, tout)
    ct = (RNG.standard_normal((3, 2)), RNG.standard_normal(4))
    _close(fn(tuple(ember.tensor(c) for c in ct)), tfn(tuple(torch.tensor(c) for c in ct)))
    _close(fn(tuple(ember.tensor(2 * c) for c in ct)), tfn(tuple(torch.tensor(2 * c) for c in ct)))
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        fn((ember.ones(2, 2, dtype=ember.float64), ember.ones(4, dtype=ember.float64)))


def test_vjp_has_aux():
    def make(lib):
        return lambda x: (lib.exp(x), x.sum())

    (ex,), (tx,) = _pair(X)
    out, fn, aux = ef.vjp(make(ember), ex, has_aux=True)
    tout, tfn, taux = tf.vjp(make(torch), tx, has_aux=True)
    _close((out, aux), (tout, taux))
    _close(fn(ember.tensor(Y)), tfn(torch.tensor(Y)))


def test_jvp_matches_torch():
    (ex, ew, et), (tx, tw, tt) = _pair(X, W, Y)
    tangent_w = RNG.standard_normal(W.shape)
    ours = ef.jvp(_vector_fn(ember), (ex, ew), (et, ember.tensor(tangent_w)))
    theirs = tf.jvp(_vector_fn(torch), (tx, tw), (tt, torch.tensor(tangent_w)))
    _close(ours, theirs)


def test_jvp_errors():
    x = ember.tensor(X)
    with pytest.raises(RuntimeError, match="tuples"):
        ef.jvp(ember.sin, x, x)
    with pytest.raises(RuntimeError, match="same shape"):
        ef.jvp(ember.sin, (x,), (ember.ones(2, dtype=ember.float64),))


@pytest.mark.parametrize("jac", ["jacrev", "jacfwd"])
@pytest.mark.parametrize("argnums", [0, (0, 1)])
def test_jacobians_match_torch(jac, argnums):
    (ex, ew), (tx, tw) = _pair(X, W)
    ours = getattr(ef, jac)(_vector_fn(ember), argnums)(ex, ew)
    theirs = getattr(tf, jac)(_vector_fn(torch), argnums)(tx, tw)
    _close(ours, theirs)


def test_jacrev_has_aux_and_nested():
    def make(lib):
        return lambda x: (lib.sin(x) * x.sum(), x.mean())

    (ex,), (tx,) = _pair(X[0])
    _close(ef.jacrev(make(ember), has_aux=True)(ex), tf.jacrev(make(torch), has_aux=True)(tx))
    _close(
        ef.jacrev(ef.jacrev(lambda x: make(ember)(x)[0]))(ex),
        tf.jacrev(tf.jacrev(lambda x: make(torch)(x)[0]))(tx),
    )


@pytest.mark.parametrize("argnums", [0, 1, (0, 1)])
def test_hessian_matches_torch(argnums):
    def make(lib):
        return lambda x, y: (lib.sin(x) * y).sum() * (x**2).sum() + (y**3).sum()

    (ex, ey), (tx, ty) = _pair(X[0], Y[0])
    _close(ef.hessian(make(ember), argnums)(ex, ey), tf.hessian(make(torch), argnums)(tx, ty))
