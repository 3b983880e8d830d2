"""Pooling kernels over the trailing spatial axes of (N, C, *spatial) arrays, any rank.

Windows are strided views of the padded input. Max pooling records, for each output cell, the
window cell that won (``winners``); its gradient kernels send values to, or read them from,
those cells. When the windows tile the input (stride equal to the kernel, no padding, no
dilation, as ``MaxPool2d(2)``) a faster kernel needs no window copies: each kernel offset is a
strided view, the maximum a running elementwise comparison in the input's own layout, and the
winners a small per-window offset (uint8); other geometries record the flat index of each
maximum in its input plane, PyTorch's ``return_indices``. The geometry says which kind of
winners a call holds, so forward and gradient kernels agree.
"""

import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ember.backends.registry import register


def _windows(x_pad, kernel, stride, dilation, out_size):
    """View (N, C, *out_size, *kernel) of the windows of a padded (N, C, *spatial) array."""
    lead, spatial = x_pad.strides[:2], x_pad.strides[2:]
    return as_strided(
        x_pad,
        (*x_pad.shape[:2], *out_size, *kernel),
        (
            *lead,
            *(st * s for st, s in zip(spatial, stride)),
            *(st * d for st, d in zip(spatial, dilation)),
        ),
        writeable=False,
    )


def windows_tile(kernel, stride, dilation, pads):
    """Whether the windows tile the input, so that the offset-wise kernels apply."""
    return (
        tuple(stride) == tuple(kernel)
        and all(d == 1 for d in dilation)
        and all(p == (0, 0) for p in pads)
        and math.prod(kernel) < 256
    )


def _offsets(a, kernel, out_size):
    """The strided views (N, C, *out_size) of ``a``, one per position inside a tiling window."""
    return [
        a[
            (
                slice(None),
                slice(None),
                *(slice(i, o * k, k) for i, k, o in zip(at, kernel, out_size)),
            )
        ]
        for at in itertools.product(*map(range, kernel))
    ]


def _flat(positions, in_size):
    """Flat plane indices from per-axis positions (row-major over ``in_size``)."""
    flat = positions[0]
    for p, size in zip(positions[1:], in_size[1:]):
        flat = flat * size + p
    return flat


def _grid(out_size, axis, stride):
    """Window starts along spatial ``axis``, shaped to broadcast over (*out_size)."""
    shape = [1] * len(out_size)
    shape[axis] = out_size[axis]
    return (np.arange(out_size[axis]) * stride).reshape(shape)


def max_over_offsets(views):
    """(elementwise maximum of same-shaped arrays, index (uint8) of the first maximal one or
    of the last NaN, as PyTorch's kernels choose): the max pooling of tiling windows, one
    array per offset in the window."""
    out = views[0].copy(order="K")  # keep the input's layout (channels-last stays so)
    pos = np.zeros_like(out, dtype=np.uint8)
    better = np.empty_like(out, dtype=bool)
    for t, v in enumerate(views[1:], 1):
        # PyTorch's rule: a larger value or a NaN takes the window
        np.greater(v, out, out=better)
        if out.dtype.kind == "f":
            better |= np.isnan(v)
        np.maximum(out, v, out=out)  # NaN-propagating, like the rule above
        # t exceeds every earlier offset, so the winner so far is max(pos, t * better)
        np.maximum(pos, better.view(np.uint8) * np.uint8(t), out=pos)
    return out, pos


def _window_max(win):
    """(maximum over the last axis, its position): the first maximum, or the last NaN where
    a window holds NaN, as PyTorch's kernels choose."""
    arg = win.argmax(axis=-1)
    out = np.take_along_axis(win, arg[..., None], axis=-1)[..., 0]
    if win.dtype.kind == "f" and np.isnan(out).any():
        last_nan = win.shape[-1] - 1 - np.isnan(win[..., ::-1]).argmax(axis=-1)
        arg = np.where(np.isnan(out), last_nan, arg)
    return out, arg


@register("max_pool", "numpy")
def max_pool(x, kernel, stride, dilation, pads, out_size):
    """(maximum of each window, winners); ``pads`` (low, high) per spatial axis."""
    if windows_tile(kernel, stride, dilation, pads):
        return max_over_offsets(_offsets(x, kernel, out_size))
    fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    x_pad = np.pad(x, ((0, 0), (0, 0), *pads), constant_values=fill)
    win = _windows(x_pad, kernel, stride, dilation, out_size).reshape(*x.shape[:2], *out_size, -1)
    out, arg = _window_max(win)
    offsets = np.unravel_index(arg, kernel)
    positions = [
        _grid(out_size, i, stride[i]) + offsets[i] * dilation[i] - pads[i][0]
        for i in range(len(kernel))
    ]
    flat = _flat(positions, x.shape[2:])
    if _channels_last(x):  # as PyTorch, results in the input's layout
        return _to_channels_last(out), _to_channels_last(flat)
    return out, flat


def _channels_last(a):
    return a.ndim == 4 and not a.flags.c_contiguous and a.transpose(0, 2, 3, 1).flags.c_contiguous


def _to_channels_last(a):
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


@register("max_pool_indices", "numpy")
def max_pool_indices(winners, kernel, stride, dilation, pads, in_size):
    """The flat plane index of each maximum, from the winners `max_pool` recorded."""
    if not windows_tile(kernel, stride, dilation, pads):
        return winners
    offsets = np.unravel_index(winners.astype(np.int64), kernel)
    out_size = winners.shape[2:]
    positions = [_grid(out_size, i, kernel[i]) + offsets[i] for i in range(len(kernel))]
    return _flat(positions, in_size)


def _planes(a):
    """(N, C, *spatial) -> (N * C, prod(spatial)), a view where the layout allows."""
    return a.reshape(a.shape[0] * a.shape[1], -1)


def _masked(values, mask, finite, out=None):
    """values where mask, else 0: a multiplication when the values are ``finite``; inf or NaN
    would survive a multiplication by zero, so then a slower masked copy is used."""
    if finite:
        return np.multiply(values, mask, out=out)
    result = np.zeros_like(values) if out is None else out
    result[...] = 0
    np.copyto(result, values, where=mask)
    return result


@register("max_pool_grad", "numpy")
def max_pool_grad(g, winners, in_shape, geometry):
    """Each value of ``g`` added to its window's winning cell of a zero (N, C, *spatial)
    array; ``geometry`` (kernel, stride, dilation, pads) of the pooling, or None when the
    winners are flat indices (adaptive pooling)."""
    if geometry is not None and windows_tile(*geometry):
        kernel, out_size = geometry[0], winners.shape[2:]
        channels_last = winners.ndim == 4 and winners.strides[1] < winners.strides[3]
        if channels_last:  # like the pooled input
            out = np.empty((in_shape[0], *in_shape[2:], in_shape[1]), g.dtype)
            out = out.transpose(0, 3, 1, 2)
        else:
            out = np.empty(in_shape, g.dtype)
        for axis, (o, k) in enumerate(zip(out_size, kernel)):  # cells no window covers
            out[(slice(None),) * (2 + axis) + (slice(o * k, None),)] = 0
        finite = bool(np.isfinite(g).all())
        for t, view in enumerate(_offsets(out, kernel, out_size)):
            _masked(g, winners == t, finite, out=view)
        return out
    n, c = in_shape[:2]
    out = np.zeros((n * c, math.prod(in_shape[2:])), g.dtype)
    np.add.at(out, (np.arange(n * c)[:, None], _planes(winners)), _planes(g))
    return out.reshape(in_shape)


@register("max_pool_select", "numpy")
def max_pool_select(a, winners, geometry):
    """The value of ``a`` (N, C, *spatial) at each window's winning cell: `max_pool_grad`'s
    adjoint, the double backward of max pooling and the backward of max-unpooling."""
    if geometry is not None and windows_tile(*geometry):
        out = np.zeros_like(winners, dtype=a.dtype)
        finite = bool(np.isfinite(a).all())
        for t, view in enumerate(_offsets(a, geometry[0], winners.shape[2:])):
            out += _masked(view, winners == t, finite)
        return out
    picked = np.take_along_axis(_planes(a), _planes(winners), axis=1)
    return picked.reshape(winners.shape)


@register("max_unpool", "numpy")
def max_unpool(x, indices, out_shape):
    """Values written to their flat plane indices of a zero array (where indices repeat, the
    last one wins)."""
    n, c = out_shape[:2]
    out = np.zeros((n * c, math.prod(out_shape[2:])), x.dtype)
    out[np.arange(n * c)[:, None], _planes(indices)] = _planes(x)
    return out.reshape(out_shape)


@register("avg_pool", "numpy")
def avg_pool(x, kernel, stride, pads, out_size, divisor):
    """Sum of each window of the zero-padded input over ``divisor`` (a number or per-window
    counts broadcasting over the output)."""
    x_pad = np.pad(x, ((0, 0), (0, 0), *pads))
    win = _windows(x_pad, kernel, stride, (1,) * len(kernel), out_size)
    axes = tuple(range(-len(kernel), 0))
    return (win.sum(axis=axes) / divisor).astype(x.dtype, copy=False)


@register("avg_pool_grad", "numpy")
def avg_pool_grad(g, in_shape, kernel, stride, pads, divisor):
    """The adjoint of `avg_pool`: each window's gradient spread over its cells."""
    gd = (g / divisor).astype(g.dtype, copy=False)
    out_size = g.shape[2:]
    padded = [s + lo + hi for s, (lo, hi) in zip(in_shape[2:], pads)]
    out = np.zeros((*in_shape[:2], *padded), gd.dtype)
    for at in itertools.product(*map(range, kernel)):
        cells = tuple(slice(i, i + s * o, s) for i, s, o in zip(at, stride, out_size))
        out[(slice(None), slice(None), *cells)] += gd
    inner = tuple(slice(lo, lo + s) for s, (lo, _) in zip(in_shape[2:], pads))
    return out[(slice(None), slice(None), *inner)]


def _adaptive_index(size, out):
    """(out, k) positions of each adaptive window, its last position repeated to width k."""
    start = np.arange(out) * size // out
    end = -(-(np.arange(out) + 1) * size // out)
    k = int((end - start).max())
    return np.minimum(start[:, None] + np.arange(k), end[:, None] - 1), k


@register("adaptive_max_pool", "numpy")
def adaptive_max_pool(x, out_size):
    """(max over PyTorch's adaptive windows, flat plane index of each maximum).

    Window sizes differ by at most one, so every window is gathered at the largest size,
    padded by repeating its own last cell (which never changes the maximum nor moves the
    first one).
    """
    rank = len(out_size)
    index, widths = zip(*map(_adaptive_index, x.shape[2:], out_size))
    # axis i's (out_i, k_i) positions, broadcasting over (out_0, k_0, out_1, k_1, ...)
    grids = []
    for i, pos in enumerate(index):
        shape = [1] * (2 * rank)
        shape[2 * i : 2 * i + 2] = pos.shape
        grids.append(pos.reshape(shape))
    win = x[(Ellipsis, *grids)]  # (N, C, out_0, k_0, out_1, k_1, ...)
    order = (0, 1, *range(2, 2 + 2 * rank, 2), *range(3, 3 + 2 * rank, 2))
    win = win.transpose(order).reshape(*x.shape[:2], *out_size, -1)
    out, arg = _window_max(win)
    offsets = np.unravel_index(arg, widths)
    positions = []
    for i, pos in enumerate(index):
        shape = [1] * rank
        shape[i] = out_size[i]
        rows = np.arange(out_size[i]).reshape(shape)
        positions.append(pos[rows, offsets[i]])
    return out, _flat(positions, x.shape[2:])
