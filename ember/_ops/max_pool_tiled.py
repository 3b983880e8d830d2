"""Max pooling over non-overlapping windows (stride equal to the kernel, no padding).

The common case (``MaxPool2d(2)``) needs no window copies: each of the kh * kw offsets is a
strided view of the input, and the maximum is a running elementwise comparison over them, in
the input's own memory layout. The backward pass writes each gradient to the one offset that
won, which cannot collide because the windows do not overlap.
"""

import numpy as np

from ember.autograd.function import ArrayFunction


def _offsets(a, k, oh, ow):
    """The kh * kw strided views (N, C, OH, OW) of `a`, one per position inside a window."""
    return [
        a[:, :, i : oh * k[0] : k[0], j : ow * k[1] : k[1]]
        for i in range(k[0])
        for j in range(k[1])
    ]


class MaxPool2dTiled(ArrayFunction):
    @staticmethod
    def forward(ctx, x, k, oh, ow, want_indices):
        views = _offsets(x, k, oh, ow)
        out = views[0].copy(order="K")  # keep the input's layout (channels-last stays so)
        pos = np.zeros_like(out, dtype=np.uint8)
        better = np.empty_like(out, dtype=bool)
        for t, v in enumerate(views[1:], 1):
            # PyTorch's rule: a larger value or a NaN takes the window
            np.greater(v, out, out=better)
            if x.dtype.kind == "f":
                better |= np.isnan(v)
            np.maximum(out, v, out=out)  # NaN-propagating, like the rule above
            # t exceeds every earlier offset, so the winner so far is max(pos, t * better)
            np.maximum(pos, better.view(np.uint8) * np.uint8(t), out=pos)
        # pos (the winning offset of each window) is computed here and private to the node;
        # the input and the returned indices are saved only for torch's version check
        ctx.pos, ctx.k = pos, k
        if want_indices:
            indices = _flat_indices(pos, k, x.shape[3])
            ctx.save_for_backward(x, indices)
            return out, indices
        ctx.save_for_backward(x)
        return out

    @staticmethod
    def backward(ctx, g, *_index_grad):
        x = ctx.saved_tensors[0]
        return _TiledScatter.apply(g, ctx.pos, ctx.k, tuple(x.shape)), None, None, None, None


def _flat_indices(pos, k, width):
    """Index of each maximum in the flattened (H * W) input plane, as PyTorch returns."""
    oh, ow = pos.shape[2:]
    ki, kj = np.divmod(pos.astype(np.int64), k[1])
    rows = np.arange(oh)[:, None] * k[0] + ki
    cols = np.arange(ow)[None, :] * k[1] + kj
    return rows * width + cols


def _masked(values, mask, finite, out=None):
    """values where mask, else 0: a multiplication when the values are ``finite``; inf or NaN
    would survive a multiplication by zero, so then a slower masked copy is used."""
    if finite:
        return np.multiply(values, mask, out=out)
    result = np.zeros_like(values) if out is None else out
    result[...] = 0
    np.copyto(result, values, where=mask)
    return result


class _TiledScatter(ArrayFunction):
    """Each gradient to the window offset that held the maximum; zeros elsewhere."""

    @staticmethod
    def forward(ctx, g, pos, k, in_shape):
        n, c, h, w = in_shape
        if pos.strides[1] < pos.strides[3]:  # channels-last, like the pooled input
            out = np.empty((n, h, w, c), g.dtype).transpose(0, 3, 1, 2)
        else:
            out = np.empty(in_shape, g.dtype)
        oh, ow = pos.shape[2:]
        out[:, :, oh * k[0] :] = 0  # rows and columns no window covers
        out[:, :, :, ow * k[1] :] = 0
        finite = bool(np.isfinite(g).all())
        for t, view in enumerate(_offsets(out, k, oh, ow)):
            _masked(g, pos == t, finite, out=view)
        ctx.pos, ctx.k = pos, k  # pos: the forward pass's private winners, never a user tensor
        return out

    @staticmethod
    def backward(ctx, gg):
        return _TiledGather.apply(gg, ctx.pos, ctx.k), None, None, None


class _TiledGather(ArrayFunction):
    """The value at each window's winning offset (the adjoint of `_TiledScatter`)."""

    @staticmethod
    def forward(ctx, a, pos, k):
        oh, ow = pos.shape[2:]
        out = np.zeros_like(pos, dtype=a.dtype)
        finite = bool(np.isfinite(a).all())
        for t, view in enumerate(_offsets(a, k, oh, ow)):
            out += _masked(view, pos == t, finite)
        ctx.pos, ctx.k, ctx.in_shape = pos, k, a.shape  # pos: private winners, as above
        return out

    @staticmethod
    def backward(ctx, g):
        return _TiledScatter.apply(g, ctx.pos, ctx.k, ctx.in_shape), None, None
