"""F.pad: constant, reflect, replicate and circular padding of the trailing dims."""

import numpy as np

from ember._tensor import wrap
from ember.autograd.function import ArrayFunction

__all__ = ["pad"]

_NP_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


class ConstantPad(ArrayFunction):
    """Constant padding by non-negative widths (negative ones are cropped before, in `pad`)."""

    @staticmethod
    def forward(ctx, x, widths, value):
        ctx.key = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return np.pad(x, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, g):
        return g[ctx.key], None, None


class IndexPad(ArrayFunction):
    """Reflect/replicate/circular padding as a gather along each padded dim."""

    @staticmethod
    def forward(ctx, x, widths, mode):
        ctx.save_for_backward(x)  # for the version check only, as torch
        ctx.maps = []  # (axis, source index of each output position, size): built here
        out = x
        for axis, (lo, hi) in enumerate(widths):
            if lo or hi:
                n = x.shape[axis]
                idx = np.pad(np.arange(n), (lo, hi), mode=_NP_MODES[mode])
                ctx.maps.append((axis, idx, n))
                out = np.take(out, idx, axis=axis)
        return out

    @staticmethod
    def backward(ctx, g):
        _ = ctx.saved_tensors  # raises if the input was modified in place since forward
        out = g
        for axis, idx, n in reversed(ctx.maps):
            shape = list(out.shape)
            shape[axis] = n
            out = wrap(np.zeros(shape, g._data.dtype)).index_add(axis, wrap(idx), out)
        return out, None, None


def pad(input, pad, mode="constant", value=None):
    """Pad the last len(pad) // 2 dims; ``pad`` lists (left, right) pairs from the last dim."""
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    k = len(pad) // 2
    if k > input.dim():
        raise RuntimeError(
            f"Padding length too large: pad has {len(pad)} values for a {input.dim()}-d input"
        )
    widths = [(0, 0)] * input.dim()
    for i in range(k):
        widths[input.dim() - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    if any(lo < 0 or hi < 0 for lo, hi in widths):  # negative padding crops, as in PyTorch
        crop = []
        for (lo, hi), n in zip(widths, input.shape):
            start, stop = max(-lo, 0), n - max(-hi, 0)
            if stop < start:
                raise RuntimeError(
                    f"pad: the padding {tuple(pad)} crops more than the input "
                    f"{list(input.shape)} has"
                )
            crop.append(slice(start, stop))
        input = input[tuple(crop)]
        widths = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    if mode == "constant":
        return ConstantPad.apply(input, widths, 0 if value is None else value)
    if mode not in _NP_MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    for axis, (lo, hi) in enumerate(widths):
        n = input.shape[axis]
        if mode == "reflect" and (lo >= n or hi >= n):
            raise RuntimeError(
                f"Argument #4: Padding size should be less than the corresponding input "
                f"dimension, but got: padding ({lo}, {hi}) at dimension {axis} of input "
                f"{list(input.shape)}"
            )
    return IndexPad.apply(input, widths, mode)
