"""The three differentiable transforms every ``ember.fft`` function is made of, and the
argument rules they share.

- ``C2C``: complex to complex over several dims; its gradient is the transform in the other
  direction with the dual scaling (the adjoint of an unscaled DFT is the unscaled inverse).
- ``R2C``: a real signal to the non-redundant half of its spectrum along one dim; its
  gradient zero-pads the half spectrum back to full length and takes the real part of the
  adjoint transform.
- ``C2R``: a half spectrum to the real signal it stands for; as in PyTorch, its gradient is
  the half spectrum of the gradient with the bins that stand for two (their mirror images
  being implied) counted twice.

``Resize`` trims or zero-pads dims to the lengths ``n`` / ``s`` ask for.
"""

import numpy as np

from ember import _dtype
from ember._ops.complex import conj, grad_for, real
from ember._tensor import Tensor, _norm_dim, wrap
from ember.autograd.function import ArrayFunction
from ember.backends.numpy import fft as _fft_kernels  # noqa: F401  (registers the CPU kernels)
from ember.backends.registry import call

_DUAL = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


class Resize(ArrayFunction):
    """``x`` with each dim in ``dims`` cut or zero-padded at its end to the matching size."""

    @staticmethod
    def forward(ctx, x, dims, sizes):
        ctx.dims, ctx.sizes = dims, tuple(x.shape[d] for d in dims)
        shape = list(x.shape)
        for d, n in zip(dims, sizes):
            shape[d] = n
        out = np.zeros(shape, x.dtype)
        common = tuple(slice(0, min(a, b)) for a, b in zip(x.shape, shape))
        out[common] = x[common]
        return out

    @staticmethod
    def backward(ctx, g):
        return Resize.apply(g, ctx.dims, ctx.sizes), None, None


class C2C(ArrayFunction):
    @staticmethod
    def forward(ctx, z, dims, norm, forward):
        ctx.dims, ctx.norm, ctx.direction = dims, norm, forward
        ctx.save_for_backward(z)  # only its dtype is read: a real input gets a real gradient
        return call("fft_c2c", z, dims, norm, forward)

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        gz = C2C.apply(g, ctx.dims, _DUAL[ctx.norm], not ctx.direction)
        return grad_for(gz, z), None, None, None


class R2C(ArrayFunction):
    @staticmethod
    def forward(ctx, x, dim, norm):
        ctx.dim, ctx.norm, ctx.n = dim, norm, x.shape[dim]
        return call("fft_r2c", x, dim, norm)

    @staticmethod
    def backward(ctx, g):
        full = Resize.apply(g, (ctx.dim,), (ctx.n,))
        return real(C2C.apply(full, (ctx.dim,), _DUAL[ctx.norm], False)), None, None


class C2R(ArrayFunction):
    @staticmethod
    def forward(ctx, z, dim, n, norm):
        ctx.dim, ctx.norm, ctx.half = dim, norm, z.shape[dim]
        ctx.save_for_backward(z)  # only its dtype is read: a real input gets a real gradient
        return call("fft_c2r", z, dim, n, norm)

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        half = R2C.apply(g, ctx.dim, _DUAL[ctx.norm])
        twice = g.shape[ctx.dim] - half.shape[ctx.dim]  # bins standing for their mirror too
        if twice > 0:
            weight = np.ones(half.shape[ctx.dim], g._data.dtype)
            weight[1 : 1 + twice] = 2
            shape = [1] * half.ndim
            shape[ctx.dim] = -1
            half = half * wrap(weight.reshape(shape))
        return grad_for(half, z), None, None, None


# -- argument rules --------------------------------------------------------------------------


def check_norm(norm):
    if norm is None:
        return "backward"
    if norm not in _DUAL:
        raise RuntimeError(f'Invalid normalization mode: "{norm}"')
    return norm


def dual(norm):
    return _DUAL[norm]


def as_transform_input(x, op, *, real_only=False):
    """``x`` in a dtype the transforms take: integers become the default float dtype."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    kind = x._data.dtype.kind
    if kind in "iub":
        return x.to(_dtype.get_default_dtype())
    if x._data.dtype not in (np.float32, np.float64, np.complex64, np.complex128):
        name = {"float16": "Half", "bfloat16": "BFloat16"}.get(x.dtype.name, x.dtype.name)
        raise RuntimeError(f"Unsupported dtype {name}")
    if real_only and kind == "c":
        name = "ComplexFloat" if x._data.dtype == np.complex64 else "ComplexDouble"
        raise RuntimeError(f"{op} expects a real input tensor, but got {name}")
    return x


def check_points(n):
    if n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")
    return n


def dims_and_sizes(x, s, dim, op):
    """The transformed dims and their lengths from ``s`` and ``dim`` (PyTorch's defaults:
    ``s`` alone takes the last len(s) dims; neither takes every dim)."""
    ndim = x.ndim
    if dim is not None and isinstance(dim, int):
        dim = (dim,)
    if s is not None and dim is not None and len(s) != len(dim):
        raise RuntimeError("When given, dim and shape arguments must have the same length")
    if dim is None:
        dim = tuple(range(ndim - len(s), ndim)) if s is not None else tuple(range(ndim))
        if s is not None and len(s) > ndim:
            raise RuntimeError(f"Got shape with {len(s)} values but input tensor only has {ndim}")
    dims = tuple(_norm_dim(int(d), ndim, op) for d in dim)
    if len(set(dims)) != len(dims):
        raise RuntimeError("FFT dims must be unique")
    if s is None:
        sizes = tuple(x.shape[d] for d in dims)
    else:
        sizes = tuple(x.shape[d] if n == -1 else int(n) for d, n in zip(dims, s))
    for n in sizes:
        check_points(n)
    return dims, sizes


def resized(x, dims, sizes):
    if all(x.shape[d] == n for d, n in zip(dims, sizes)):
        return x
    return Resize.apply(x, dims, sizes)


def c2c(x, dims, sizes, norm, forward):
    x = resized(x, dims, sizes)
    return C2C.apply(x, dims, norm, forward) if dims else x * (1 + 0j)


def r2c(x, dims, sizes, norm, forward=True):
    """The half spectrum over ``dims`` (the last one halved); ``forward=False`` gives the
    inverse direction (PyTorch's ihfft) as the conjugate of the dual forward transform."""
    x = resized(x, dims, sizes)
    transform_norm = norm if forward else dual(norm)
    out = R2C.apply(x, dims[-1], transform_norm)
    if len(dims) > 1:
        out = C2C.apply(out, dims[:-1], transform_norm, True)
    return out if forward else conj(out)


def c2r(x, dims, sizes, last_size, norm):
    """The real signal over ``dims`` whose half spectrum is ``x``; ``last_size`` is the
    output length of the last dim (its input is cut or padded to last_size // 2 + 1)."""
    x = resized(x, dims, sizes[:-1] + (last_size // 2 + 1,))
    if len(dims) > 1:
        x = C2C.apply(x, dims[:-1], norm, False)
    return C2R.apply(x, dims[-1], last_size, norm)
