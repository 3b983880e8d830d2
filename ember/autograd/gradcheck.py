"""Compare analytical gradients with central finite differences (float64 recommended).

Complex inputs and outputs count as their real and imaginary parts, each an independent real
variable, so one check covers PyTorch's convention for complex gradients."""

import warnings

import numpy as np

from ember._tensor import Tensor, wrap
from ember.autograd.engine import grad

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    pass


def _outputs(fn, inputs):
    out = fn(*inputs)
    return (out,) if isinstance(out, Tensor) else tuple(o for o in out if isinstance(o, Tensor))


def _as_reals(arr):
    """An output's values as real numbers: a complex value counts as its two parts."""
    arr = arr.reshape(-1)
    if arr.dtype.kind == "c":
        return np.stack([arr.real, arr.imag], axis=1).reshape(-1)
    return arr.astype(np.float64)


def _perturbations(t):
    """The real directions an input moves in: the real axis, and for a complex input also
    the imaginary axis (its two parts are independent real variables)."""
    return (1.0, 1j) if t._data.dtype.kind == "c" else (1.0,)


def _numerical_jacobian(fn, inputs, t, eps):
    """d(all outputs as reals)/d(t as reals) by central differences; a complex element gives
    two columns (real part, imaginary part)."""
    data = t._data  # indexed element by element, so that non-contiguous inputs work too
    cols = []
    for k in np.ndindex(data.shape):
        orig = data[k].item()
        for direction in _perturbations(t):
            data[k] = orig + eps * direction
            plus = np.concatenate([_as_reals(o._data) for o in _outputs(fn, inputs)])
            data[k] = orig - eps * direction
            minus = np.concatenate([_as_reals(o._data) for o in _outputs(fn, inputs)])
            data[k] = orig
            cols.append((plus - minus) / (2 * eps))
    if not cols:
        rows = sum(_as_reals(o._data).size for o in _outputs(fn, inputs))
        return np.zeros((rows, 0))
    return np.stack(cols, axis=1)


def _analytical_jacobian(fn, inputs, diff_inputs):
    """The same Jacobian from backward: the gradient for a unit upstream gradient on one real
    output (its real part, then for a complex output its imaginary part) is one row; with
    PyTorch's convention a complex input's gradient holds d/d(real) + i d/d(imag)."""
    outs = _outputs(fn, inputs)
    sizes = [_as_reals(o._data).size for o in outs]
    total = sum(sizes)
    jacs = [np.zeros((total, t._data.size * len(_perturbations(t)))) for t in diff_inputs]
    row = 0
    for o, n in zip(outs, sizes):
        if not o._requires_grad:
            row += n
            continue
        units = (1.0, 1j) if o._data.dtype.kind == "c" else (1.0,)
        for k in range(n):
            g = np.zeros(o._data.size, dtype=o._data.dtype)
            g[k // len(units)] = units[k % len(units)]
            gs = grad(o, diff_inputs, wrap(g.reshape(o._data.shape)), retain_graph=True,
                      allow_unused=True)  # fmt: skip
            for j, gj in enumerate(gs):
                if gj is not None:
                    jacs[j][row + k] = _as_reals(gj._data)
        row += n
    return jacs


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, fast_mode=False, **kwargs):  # fmt: skip
    """True when the analytical Jacobian matches finite differences for every input."""
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    analytical = _analytical_jacobian(func, inputs, diff)
    for j, t in enumerate(diff):
        if t.dtype.name not in ("float64", "complex128"):
            warnings.warn(
                f"Input #{j} requires gradient and is not a double precision floating point. "
                "gradcheck may fail.",
                stacklevel=2,
            )
        numerical = _numerical_jacobian(func, inputs, t, eps)
        if not np.allclose(analytical[j], numerical, rtol=rtol, atol=atol):
            if raise_exception:
                raise GradcheckError(
                    f"Jacobian mismatch for output 0 with respect to input {j},\n"
                    f"numerical:{numerical}\nanalytical:{analytical[j]}\n"
                )
            return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, **kwargs):  # fmt: skip
    """gradcheck of the first derivative (vector-Jacobian product) of ``func``."""
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    outs = [o for o in _outputs(func, inputs) if o.requires_grad]  # not indices, masks
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(
            wrap(rng.standard_normal(o._data.shape).astype(o._data.dtype), requires_grad=True)
            for o in outs
        )
    grad_outputs = (grad_outputs,) if isinstance(grad_outputs, Tensor) else tuple(grad_outputs)
    n_in = len(inputs)

    def first_derivative(*args):
        ins, gos = args[:n_in], args[n_in:]
        diff = [t for t in ins if isinstance(t, Tensor) and t.requires_grad]
        outs = [o for o in _outputs(func, ins) if o.requires_grad]
        gs = grad(outs, diff, gos, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(first_derivative, inputs + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception)  # fmt: skip
