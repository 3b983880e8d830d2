"""The legacy cross-channel local response normalization of ``nn.CrossMapLRN2d``.

x / (k + alpha / size * s_c)^beta with s_c a sum of squares over neighbouring channels. The
channel window and the backward follow PyTorch's legacy implementation exactly, including
its quirk: the forward window of channel c > P (P = (size - 1) // 2 + 1) keeps channel 0 and
starts at c - P + 1, while the backward uses the symmetric window; PyTorch's own gradient is
therefore not the derivative of its forward, and ember reproduces PyTorch's numbers.
"""

import numpy as np

from ember._ops._first_order import first_order_only
from ember.autograd.function import ArrayFunction

__all__ = ["cross_map_lrn2d"]


def _window_sums(values, lo, hi):
    """sum of values[:, j] for lo[c] <= j < hi[c], per channel c (channel axis 1)."""
    zero = np.zeros_like(values[:, :1])
    cum = np.concatenate([zero, np.cumsum(values, axis=1)], axis=1)
    return cum[:, hi] - cum[:, lo]


class _CrossMapLRN2d(ArrayFunction):
    @staticmethod
    def forward(ctx, x, size, alpha, beta, k):
        c = x.shape[1]
        pre = (size - 1) // 2 + 1
        ch = np.arange(c)
        sq = x * x
        scale = _window_sums(sq, np.zeros(c, np.int64), np.minimum(ch + pre, c))
        late = ch > pre  # these windows drop channels 1 .. c - pre (never channel 0)
        if late.any():
            dropped = _window_sums(sq, np.ones(c, np.int64), np.maximum(ch - pre + 1, 1))
            scale = scale - np.where(late[None, :, None, None], dropped, 0)
        scale = scale * (alpha / size) + k
        out = x * scale**-beta
        ctx.args = (size, alpha, beta)
        ctx.save_for_backward(x, out)
        ctx.scale = scale
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        size, alpha, beta = ctx.args
        scale, xa, ga = ctx.scale, x._data, g._data
        c = xa.shape[1]
        ratio = ga * out._data / scale
        shift = int(size - (size - 1) / 2)
        ch = np.arange(c)
        lo = np.clip(ch - shift, 0, c)
        hi = np.clip(ch + size - shift, 0, c)
        accum = _window_sums(ratio, lo, hi)
        grad = scale**-beta * ga - (2 * alpha * beta / size) * xa * accum
        return first_order_only(grad.astype(xa.dtype, copy=False), "CrossMapLRN2d", x, g), (
            None, None, None, None)  # fmt: skip


def cross_map_lrn2d(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """The forward of ``nn.CrossMapLRN2d`` on an (N, C, H, W) input."""
    if input.ndim != 4:
        raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.ndim}D instead.")
    return _CrossMapLRN2d.apply(input, size, alpha, beta, k)
