"""``Tensor.unfold``: every window of ``size`` elements, ``step`` apart, along one dimension,
as a view (the windows share the input's memory, and overlap when ``step < size``)."""

import numpy as np

from ember._ops._util import norm_dim
from ember.autograd.function import ArrayFunction, ViewFunction

__all__ = ["unfold"]


def _windows(x, dim, size, step):
    """The strided view: ``dim`` counts windows, a new last axis runs along each window."""
    count = (x.shape[dim] - size) // step + 1
    shape = x.shape[:dim] + (count,) + x.shape[dim + 1 :] + (size,)
    strides = x.strides[:dim] + (x.strides[dim] * step,) + x.strides[dim + 1 :]
    return np.lib.stride_tricks.as_strided(x, shape, strides + (x.strides[dim],))


class Unfold(ViewFunction):
    @staticmethod
    def forward(ctx, x, dim, size, step):
        ctx.shape, ctx.args = x.shape, (dim, size, step)
        return _windows(x, dim, size, step)

    @staticmethod
    def backward(ctx, g):
        return UnfoldBackward.apply(g, ctx.shape, *ctx.args), None, None, None


class UnfoldBackward(ArrayFunction):
    """Sum each window's gradient back onto the elements it covers."""

    @staticmethod
    def forward(ctx, g, shape, dim, size, step):
        ctx.args = (dim, size, step)
        out = np.zeros(shape, g.dtype)
        count = g.shape[dim]
        moved = np.moveaxis(g, -1, dim + 1)  # (..., windows, size, ...)
        for k in range(size):  # one strided add per position within a window
            target = [slice(None)] * len(shape)
            target[dim] = slice(k, k + step * (count - 1) + 1, step)
            source = [slice(None)] * moved.ndim
            source[dim + 1] = k
            out[tuple(target)] += moved[tuple(source)]
        return out

    @staticmethod
    def backward(ctx, gg):
        return unfold(gg, *ctx.args), None, None, None, None


def unfold(self, dimension, size, step):
    """``x.unfold(dimension, size, step)``."""
    nd = self._data.ndim
    dim = norm_dim(dimension, max(nd, 1), "unfold")
    length = self._data.shape[dim] if nd else 1
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if size < 0 or size > length:
        raise RuntimeError(
            f"maximum size for tensor at dimension {dim} is {length} but size is {size}"
        )
    if nd == 0:
        return self.reshape(1)
    return Unfold.apply(self, dim, size, step)
