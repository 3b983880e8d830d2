"""Discrete Fourier transforms, as ``torch.fft``: complex (``fft``), real-input (``rfft``),
Hermitian (``hfft``) in one, two and n dims, their inverses, sample frequencies and shifts.

``norm`` scales as in PyTorch: "backward" (the default) scales the inverse by 1/n, "ortho"
both directions by 1/sqrt(n), "forward" the forward transform by 1/n. A float32 input gives a
complex64 spectrum (computed in single precision), float64 complex128; integer inputs are
transformed as the default float dtype. Every transform is differentiable.
"""

import numpy as np

from ember import _dtype
from ember._ops._numpy_kwargs import numpy_kwargs
from ember._ops._promotion import maybe_out
from ember._ops.fourier import (
    as_transform_input,
    c2c,
    c2r,
    check_norm,
    check_points,
    dims_and_sizes,
    dual,
    r2c,
)
from ember._ops.shape import roll
from ember._tensor import Tensor, wrap

__all__ = [
    "Tensor", "fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2",
    "irfft2", "rfftn", "irfftn", "hfft", "ihfft", "hfft2", "ihfft2", "hfftn", "ihfftn",
    "fftfreq", "rfftfreq", "fftshift", "ifftshift",
]  # fmt: skip


def _one_dim(n, dim):
    return None if n is None else (n,), (dim,)


@numpy_kwargs
def fftn(input, s=None, dim=None, norm=None, *, out=None):
    """The n-dimensional discrete Fourier transform over ``dim`` (every dim by default)."""
    x = as_transform_input(input, "fftn")
    dims, sizes = dims_and_sizes(x, s, dim, "fftn")
    return maybe_out(c2c(x, dims, sizes, check_norm(norm), True), out)


@numpy_kwargs
def ifftn(input, s=None, dim=None, norm=None, *, out=None):
    """The n-dimensional inverse discrete Fourier transform."""
    x = as_transform_input(input, "ifftn")
    dims, sizes = dims_and_sizes(x, s, dim, "ifftn")
    return maybe_out(c2c(x, dims, sizes, check_norm(norm), False), out)


@numpy_kwargs
def fft(input, n=None, dim=-1, norm=None, *, out=None):
    """The one-dimensional discrete Fourier transform along ``dim``, of length ``n``."""
    return fftn(input, *_one_dim(n, dim), norm, out=out)


@numpy_kwargs
def ifft(input, n=None, dim=-1, norm=None, *, out=None):
    """The one-dimensional inverse discrete Fourier transform."""
    return ifftn(input, *_one_dim(n, dim), norm, out=out)


@numpy_kwargs
def fft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return fftn(input, s, dim, norm, out=out)


@numpy_kwargs
def ifft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return ifftn(input, s, dim, norm, out=out)


@numpy_kwargs
def rfftn(input, s=None, dim=None, norm=None, *, out=None):
    """The transform of a real input over ``dim``, keeping the n // 2 + 1 non-redundant
    values of the last dim."""
    x = as_transform_input(input, "rfftn", real_only=True)
    dims, sizes = dims_and_sizes(x, s, dim, "rfftn")
    return maybe_out(r2c(x, dims, sizes, check_norm(norm)), out)


@numpy_kwargs
def rfft(input, n=None, dim=-1, norm=None, *, out=None):
    """The one-dimensional transform of a real input: n // 2 + 1 complex values."""
    x = as_transform_input(input, "rfft", real_only=True)
    return rfftn(x, *_one_dim(n, dim), norm, out=out)


@numpy_kwargs
def rfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return rfftn(input, s, dim, norm, out=out)


def _inverse_real(input, s, dim, norm, op):
    x = as_transform_input(input, op)
    dims, sizes = dims_and_sizes(x, s, dim, op)
    last = sizes[-1] if s is not None else 2 * (x.shape[dims[-1]] - 1)
    return x, dims, sizes, check_points(last), check_norm(norm)


@numpy_kwargs
def irfftn(input, s=None, dim=None, norm=None, *, out=None):
    """The real signal whose ``rfftn`` is ``input``; the last dim's output length is
    ``s[-1]``, by default 2 * (input length - 1)."""
    x, dims, sizes, last, norm = _inverse_real(input, s, dim, norm, "irfftn")
    return maybe_out(c2r(x, dims, sizes, last, norm), out)


@numpy_kwargs
def irfft(input, n=None, dim=-1, norm=None, *, out=None):
    """The real signal of length ``n`` whose ``rfft`` is ``input``."""
    return irfftn(input, *_one_dim(n, dim), norm, out=out)


@numpy_kwargs
def irfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return irfftn(input, s, dim, norm, out=out)


@numpy_kwargs
def hfftn(input, s=None, dim=None, norm=None, *, out=None):
    """The real transform of a signal with Hermitian symmetry, given by its half."""
    x, dims, sizes, last, norm = _inverse_real(input, s, dim, norm, "hfftn")
    return maybe_out(c2r(x.conj(), dims, sizes, last, dual(norm)), out)


@numpy_kwargs
def hfft(input, n=None, dim=-1, norm=None, *, out=None):
    return hfftn(input, *_one_dim(n, dim), norm, out=out)


@numpy_kwargs
def hfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return hfftn(input, s, dim, norm, out=out)


@numpy_kwargs
def ihfftn(input, s=None, dim=None, norm=None, *, out=None):
    """The inverse of ``hfftn``: the half spectrum of a real signal, inverse direction."""
    x = as_transform_input(input, "ihfftn", real_only=True)
    dims, sizes = dims_and_sizes(x, s, dim, "ihfftn")
    return maybe_out(r2c(x, dims, sizes, check_norm(norm), forward=False), out)


@numpy_kwargs
def ihfft(input, n=None, dim=-1, norm=None, *, out=None):
    x = as_transform_input(input, "ihfft", real_only=True)
    return ihfftn(x, *_one_dim(n, dim), norm, out=out)


@numpy_kwargs
def ihfft2(input, s=None, dim=(-2, -1), norm=None, *, out=None):
    return ihfftn(input, s, dim, norm, out=out)


def _frequencies(values, dtype, requires_grad):
    dt = _dtype.get_default_dtype() if dtype is None else _dtype.to_dtype(dtype)
    return wrap(values.astype(dt.np), requires_grad=requires_grad)


def fftfreq(n, d=1.0, *, dtype=None, layout=None, device=None, requires_grad=False, out=None):
    """The sample frequencies of an ``n``-point transform with sample spacing ``d``:
    [0, 1, ..., n//2 - 1 (or (n-1)//2), -(n//2), ..., -1] / (d * n)."""
    return maybe_out(_frequencies(np.fft.fftfreq(n, d), dtype, requires_grad), out)


def rfftfreq(n, d=1.0, *, dtype=None, layout=None, device=None, requires_grad=False, out=None):
    """The sample frequencies of an ``n``-point ``rfft``: [0, 1, ..., n // 2] / (d * n)."""
    return maybe_out(_frequencies(np.fft.rfftfreq(n, d), dtype, requires_grad), out)


def _shift(input, dim, sign):
    dims = tuple(range(input.ndim)) if dim is None else (dim,) if isinstance(dim, int) else dim
    if not dims:
        return input
    shifts = tuple(sign * (input.shape[d] // 2) for d in dims)
    return roll(input, shifts, dims)


@numpy_kwargs
def fftshift(input, dim=None):
    """Move the zero frequency to the centre of each dim in ``dim`` (every dim by default)."""
    return _shift(input, dim, 1)


@numpy_kwargs
def ifftshift(input, dim=None):
    """The inverse of ``fftshift``."""
    return _shift(input, dim, -1)
