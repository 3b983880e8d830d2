"""3-D convolution kernels as matrix products over the batch (im2col in NDHWC layout).

The windows of the zero-padded, channels-last input are copied into a column matrix
(N * OD * OH * OW, kd * kh * kw * C) and multiplied with the weight; the input's gradient
multiplies the output's gradient with the weight and sums the columns back over the kernel
offsets (col2im); the weight's gradient multiplies the output's gradient with the columns.

Each kernel returns an (N, C, D, H, W) view of channels-last memory; the op chooses the layout.
"""

import itertools

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ember.backends.registry import register


def _out_size(size, kernel, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _extent(count, kernel, stride, dilation):
    return (count - 1) * stride + dilation * (kernel - 1) + 1


def _padded_channels_last(x, padding):
    """NCDHW -> a new zero-padded NDHWC array."""
    n, c, *size = x.shape
    out = np.zeros((n, *(s + 2 * p for s, p in zip(size, padding)), c), x.dtype)
    inner = tuple(slice(p, p + s) for s, p in zip(size, padding))
    out[(slice(None), *inner)] = x.transpose(0, 2, 3, 4, 1)
    return out


def _columns(x_pad, k, stride, dilation, grid):
    """Columns (N * OD * OH * OW, kd * kh * kw * C) of the windows of a padded NDHWC array."""
    sn, *spatial, sc = x_pad.strides
    shape = (x_pad.shape[0], *grid, *k, x_pad.shape[-1])
    strides = (
        sn,
        *(st * s for st, s in zip(spatial, stride)),
        *(st * d for st, d in zip(spatial, dilation)),
        sc,
    )
    view = as_strided(x_pad, shape, strides, writeable=False)
    cols = np.empty(shape, x_pad.dtype)
    cols[...] = view
    return cols.reshape(-1, np.prod(k, dtype=int) * x_pad.shape[-1])


def _rows_channels_last(a):
    """(N, C, D, H, W) -> C-contiguous (N * D * H * W, C) rows."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 4, 1)).reshape(-1, a.shape[1])


def _group_weights(w, groups):
    """(O, C / groups, kd, kh, kw) -> per group (O / groups, kd * kh * kw * C / groups)."""
    og = w.shape[0] // groups
    mats = w.transpose(0, 2, 3, 4, 1).reshape(w.shape[0], -1)
    return [mats[g * og : (g + 1) * og] for g in range(groups)]


@register("conv3d", "numpy")
def conv3d(x, w, b, stride, padding, dilation, groups):
    """Forward convolution of NCDHW ``x`` with (O, C / groups, kd, kh, kw) ``w``, bias ``b``."""
    n, c = x.shape[:2]
    k = w.shape[2:]
    grid = tuple(map(_out_size, x.shape[2:], k, stride, padding, dilation))
    x_pad = _padded_channels_last(x, padding)
    cg, og = c // groups, w.shape[0] // groups
    out = np.empty((n * int(np.prod(grid)), w.shape[0]), x.dtype)
    for g, wmat in enumerate(_group_weights(w, groups)):
        cols = _columns(x_pad[..., g * cg : (g + 1) * cg], k, stride, dilation, grid)
        out[:, g * og : (g + 1) * og] = cols @ wmat.T
    if b is not None:
        out += b
    return out.reshape(n, *grid, -1).transpose(0, 4, 1, 2, 3)


@register("conv3d_grad_input", "numpy")
def conv3d_grad_input(g, w, in_size, stride, padding, dilation, groups):
    """The gradient of a convolution's (N, C, *in_size) input, from its output's gradient
    ``g`` (also the transposed convolution of ``g``)."""
    n, o, *grid = g.shape
    cg, k = w.shape[1], w.shape[2:]
    og = o // groups
    full = tuple(
        max(s + 2 * p, _extent(q, kk, st, d))
        for s, p, q, kk, st, d in zip(in_size, padding, grid, k, stride, dilation)
    )
    dx_pad = np.zeros((n, *full, cg * groups), g.dtype)
    g_rows = _rows_channels_last(g)
    for grp, wmat in enumerate(_group_weights(w, groups)):
        dcols = (g_rows[:, grp * og : (grp + 1) * og] @ wmat).reshape(n, *grid, *k, cg)
        dst = dx_pad[..., grp * cg : (grp + 1) * cg]
        for offset in itertools.product(*map(range, k)):
            window = tuple(
                slice(i * d, i * d + s * (q - 1) + 1, s)
                for i, d, s, q in zip(offset, dilation, stride, grid)
            )
            dst[(slice(None), *window)] += dcols[(slice(None),) * 4 + offset]
    inner = tuple(slice(p, p + s) for s, p in zip(in_size, padding))
    return dx_pad[(slice(None), *inner)].transpose(0, 4, 1, 2, 3)


@register("conv3d_grad_weight", "numpy")
def conv3d_grad_weight(x, g, kernel_size, stride, padding, dilation, groups, with_bias):
    """(weight gradient, bias gradient or None) of a convolution, from its input ``x`` and
    output gradient ``g``."""
    cg = x.shape[1] // groups
    o, *grid = g.shape[1:]
    og = o // groups
    x_pad = _padded_channels_last(x, padding)
    g_rows = _rows_channels_last(g)
    dw = np.empty((o, cg, *kernel_size), x.dtype)
    for grp in range(groups):
        cols = _columns(x_pad[..., grp * cg : (grp + 1) * cg], kernel_size, stride, dilation, grid)
        dwmat = g_rows[:, grp * og : (grp + 1) * og].T @ cols
        dw[grp * og : (grp + 1) * og] = dwmat.reshape(og, *kernel_size, cg).transpose(0, 4, 1, 2, 3)
    return dw, (g_rows.sum(axis=0) if with_bias else None)
