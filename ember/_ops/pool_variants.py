"""Pooling variants of nn.functional: power-average pooling in 1 and 3 dimensions, the
``*_with_indices`` forms of max pooling, and fractional max pooling (Graham, 2014)."""

import numpy as np

from ember._ops._geometry import _ntuple, _single, _triple
from ember._ops.pool import (
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    adaptive_max_pool3d,
    avg_pool1d,
    avg_pool3d,
    lp_finish,
    max_pool1d,
    max_pool2d,
    max_pool3d,
)
from ember._random import np_generator
from ember._tensor import Tensor, wrap
from ember.autograd.function import ArrayFunction

__all__ = [
    "lp_pool1d", "lp_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
    "max_pool3d_with_indices", "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d_with_indices",
    "fractional_max_pool2d", "fractional_max_pool2d_with_indices", "fractional_max_pool3d",
    "fractional_max_pool3d_with_indices",
]  # fmt: skip


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum of x^p over each window)^(1/p) along the last axis."""
    (k,) = _single(kernel_size)
    out = avg_pool1d(input**norm_type, k, stride if stride is not None else k, 0, ceil_mode)
    return lp_finish(out, norm_type, k)


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum of x^p over each window)^(1/p) over the last three axes."""
    k = _triple(kernel_size)
    out = avg_pool3d(input**norm_type, k, stride if stride is not None else k, 0, ceil_mode)
    return lp_finish(out, norm_type, k[0] * k[1] * k[2])


def _with_indices(pool):
    def fn(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
           return_indices=False):  # fmt: skip
        return pool(input, kernel_size, stride, padding, dilation, ceil_mode, True)

    fn.__name__ = fn.__qualname__ = f"{pool.__name__}_with_indices"
    fn.__doc__ = f"``{pool.__name__}`` returning (output, indices) whatever return_indices says."
    return fn


def _adaptive_with_indices(pool):
    def fn(input, output_size, return_indices=False):
        return pool(input, output_size, True)

    fn.__name__ = fn.__qualname__ = f"{pool.__name__}_with_indices"
    fn.__doc__ = f"``{pool.__name__}`` returning (output, indices) whatever return_indices says."
    return fn


max_pool1d_with_indices = _with_indices(max_pool1d)
max_pool2d_with_indices = _with_indices(max_pool2d)
max_pool3d_with_indices = _with_indices(max_pool3d)
adaptive_max_pool1d_with_indices = _adaptive_with_indices(adaptive_max_pool1d)
adaptive_max_pool2d_with_indices = _adaptive_with_indices(adaptive_max_pool2d)
adaptive_max_pool3d_with_indices = _adaptive_with_indices(adaptive_max_pool3d)


# -- fractional max pooling ------------------------------------------------------------------


def _window_starts(sample, in_size, out_size, pool):
    """Each output's window start from one uniform sample per plane (N, C): pseudo-random,
    increasing, the last window flush with the input's end."""
    starts = np.empty(sample.shape + (out_size,), np.int64)
    if out_size > 1:
        alpha = sample.dtype.type(in_size - pool) / sample.dtype.type(out_size - 1)
        i = np.arange(out_size - 1, dtype=sample.dtype)
        first = np.trunc(sample * alpha).astype(np.int64)
        starts[..., :-1] = np.trunc((i + sample[..., None]) * alpha).astype(np.int64) - (
            first[..., None])  # fmt: skip
    starts[..., -1] = in_size - pool
    return starts


class _FractionalMaxPool(ArrayFunction):
    @staticmethod
    def forward(ctx, x, samples, kernel, out_size):
        rank = len(kernel)
        spatial = x.shape[2:]
        # The samples give (W, H) in 2-D and (T, H, W) in 3-D, as PyTorch reads them.
        order = (1, 0) if rank == 2 else (0, 1, 2)
        grids = []
        for d in range(rank):
            s = _window_starts(samples[..., order[d]], spatial[d], out_size[d], kernel[d])
            grids.append(s[..., :, None] + np.arange(kernel[d]))  # (N, C, out_d, k_d)
        # Every window's positions as flat plane indices: (N, C, *out, *k).
        n, c = x.shape[:2]
        flat = np.zeros((n, c) + tuple(out_size) + tuple(kernel), np.int64)
        stride = 1
        for d in reversed(range(rank)):
            shape = [n, c] + [1] * (2 * rank)
            shape[2 + d], shape[2 + rank + d] = out_size[d], kernel[d]
            flat = flat + grids[d].reshape(shape) * stride
            stride *= spatial[d]
        windows = flat.reshape((n, c) + tuple(out_size) + (-1,))
        plane = x.reshape(n, c, -1)
        values = np.take_along_axis(plane, windows.reshape(n, c, -1), axis=2).reshape(
            windows.shape)  # fmt: skip
        pick = np.argmax(values, axis=-1)[..., None]  # the first max; NaN counts as the max
        out = np.take_along_axis(values, pick, axis=-1)[..., 0]
        indices = np.take_along_axis(windows, pick, axis=-1)[..., 0]
        ctx.mark_non_differentiable(indices)
        ctx.shape = x.shape
        ctx.save_for_backward(indices)
        return out, indices

    @staticmethod
    def backward(ctx, g, _gi):
        (indices,) = ctx.saved_tensors
        n, c = ctx.shape[:2]
        zeros = wrap(np.zeros((n, c, int(np.prod(ctx.shape[2:]))), g._data.dtype))
        grad = zeros.scatter_add(2, indices.reshape(n, c, -1), g.reshape(n, c, -1))
        return grad.reshape(ctx.shape), None, None, None


def _fractional(op, rank, input, kernel_size, output_size, output_ratio, samples):
    if input.ndim not in (rank + 1, rank + 2):
        raise RuntimeError(
            f"{op}(): Expected {rank + 1}D or {rank + 2}D tensor, but got: {list(input.shape)}"
        )
    batched = input.ndim == rank + 2
    x = input if batched else input.unsqueeze(0)
    parse = _ntuple(rank)
    kernel = parse(kernel_size, "kernel_size", op)
    spatial = tuple(x.shape[2:])
    if output_size is None and output_ratio is None:
        raise ValueError(f"{op} requires specifying either an output_size or an output_ratio")
    if output_size is None:
        ratio = parse(output_ratio, "output_ratio", op)
        if any(not 0 < r < 1 for r in ratio):
            raise ValueError(f"{op}: output_ratio must be between 0 and 1 (got {output_ratio})")
        output_size = tuple(int(s * r) for s, r in zip(spatial, ratio))
    out_size = parse(output_size, "output_size", op)
    names = ("time", "height", "width")[3 - rank :]
    for d in range(rank):
        if out_size[d] + kernel[d] - 1 > spatial[d]:
            raise RuntimeError(
                f"{op}(): pool {names[d]} {kernel[d]} too large relative to input "
                f"{names[d]} {spatial[d]} (output {names[d]} {out_size[d]})"
            )
    n, c = x.shape[:2]
    if samples is None:
        drawn = np_generator().random((n, c, rank)).astype(x._data.dtype)
        samples = wrap(drawn)
    elif not isinstance(samples, Tensor) or tuple(samples.shape) != (n, c, rank):
        raise RuntimeError(
            f"{op}(): expected _random_samples of shape {[n, c, rank]}, but got "
            f"{list(samples.shape) if isinstance(samples, Tensor) else type(samples).__name__}"
        )
    out, idx = _FractionalMaxPool.apply(x, samples.detach().to(x.dtype), kernel, out_size)
    if not batched:
        out, idx = out.squeeze(0), idx.squeeze(0)
    return out, idx


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):  # fmt: skip
    """(output, indices) of 2-D fractional max pooling."""
    return _fractional("fractional_max_pool2d", 2, input, kernel_size, output_size,
                       output_ratio, _random_samples)  # fmt: skip


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):  # fmt: skip
    """Max over pseudo-random, overlapping windows of the last two axes."""
    out, idx = fractional_max_pool2d_with_indices(input, kernel_size, output_size, output_ratio,
                                                  True, _random_samples)  # fmt: skip
    return (out, idx) if return_indices else out


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):  # fmt: skip
    """(output, indices) of 3-D fractional max pooling."""
    return _fractional("fractional_max_pool3d", 3, input, kernel_size, output_size,
                       output_ratio, _random_samples)  # fmt: skip


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None,
                          return_indices=False, _random_samples=None):  # fmt: skip
    """Max over pseudo-random, overlapping windows of the last three axes."""
    out, idx = fractional_max_pool3d_with_indices(input, kernel_size, output_size, output_ratio,
                                                  True, _random_samples)  # fmt: skip
    return (out, idx) if return_indices else out
