"""3-D convolution and its transpose as matrix products over the batch.

Both are built from two linear ops that are each other's adjoint: ``_Unfold3d`` copies the
windows of a zero-padded, channels-last input into a column matrix (N * L, kd * kh * kw, C),
and ``_Fold3d`` sums such columns back into the padded volume and crops the padding. A
convolution is ``unfold`` followed by a matrix product with the weight; its transpose is a
matrix product followed by ``fold``. As every piece is an ember op, the gradients are
differentiable again (double backward).
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ember._ops._geometry import _triple, conv_output_size, resolve_padding, transposed_output_size
from ember.autograd.function import ArrayFunction

__all__ = ["conv3d", "conv_transpose3d"]


def _window_view(xp, k, s, d, grid):
    """View (N, OD, OH, OW, kd, kh, kw, C) of the windows of a padded NDHWC array."""
    sn, sd, sh, sw, sc = xp.strides
    shape = (xp.shape[0], *grid, *k, xp.shape[4])
    strides = (sn, sd * s[0], sh * s[1], sw * s[2], sd * d[0], sh * d[1], sw * d[2], sc)
    return as_strided(xp, shape, strides, writeable=False)


class _Unfold3d(ArrayFunction):
    """(N, C, D, H, W) -> columns (N * OD * OH * OW, kd * kh * kw, C) of the padded input."""

    @staticmethod
    def forward(ctx, x, k, s, d, p, grid):
        n, c, depth, h, w = x.shape
        xp = np.zeros((n, depth + 2 * p[0], h + 2 * p[1], w + 2 * p[2], c), x.dtype)
        xp[:, p[0] : p[0] + depth, p[1] : p[1] + h, p[2] : p[2] + w] = x.transpose(0, 2, 3, 4, 1)
        cols = np.empty((n, *grid, *k, c), x.dtype)
        cols[...] = _window_view(xp, k, s, d, grid)
        ctx.args = (x.shape, k, s, d, p, grid)
        ctx.save_for_backward(x)  # for the version check only, as torch's convolution
        return cols.reshape(-1, k[0] * k[1] * k[2], c)

    @staticmethod
    def backward(ctx, g):
        _ = ctx.saved_tensors  # raises if the input was modified in place since forward
        return _Fold3d.apply(g, *ctx.args), None, None, None, None, None


class _Fold3d(ArrayFunction):
    """Columns (N * L, kd * kh * kw, C) summed into (N, C, D, H, W): unfold's adjoint."""

    @staticmethod
    def forward(ctx, cols, shape, k, s, d, p, grid):
        n, c, depth, h, w = shape
        cols = cols.reshape(n, *grid, *k, c)
        full = np.zeros((n, depth + 2 * p[0], h + 2 * p[1], w + 2 * p[2], c), cols.dtype)
        od, oh, ow = grid
        for i in range(k[0]):
            for j in range(k[1]):
                for m in range(k[2]):
                    a, b, e = i * d[0], j * d[1], m * d[2]
                    dst = full[
                        :,
                        a : a + s[0] * (od - 1) + 1 : s[0],
                        b : b + s[1] * (oh - 1) + 1 : s[1],
                        e : e + s[2] * (ow - 1) + 1 : s[2],
                    ]
                    dst += cols[:, :, :, :, i, j, m]
        ctx.args = (k, s, d, p, grid)
        inner = full[:, p[0] : p[0] + depth, p[1] : p[1] + h, p[2] : p[2] + w]
        return np.ascontiguousarray(inner.transpose(0, 4, 1, 2, 3))

    @staticmethod
    def backward(ctx, g):
        return (_Unfold3d.apply(g, *ctx.args),) + (None,) * 6


def _check(op, input, weight, bias, groups, in_channels_axis):
    if input.dim() not in (4, 5):
        raise RuntimeError(
            f"Expected 4D (unbatched) or 5D (batched) input to {op}, but got input of size: "
            f"{list(input.shape)}"
        )
    if weight.dim() != 5:
        raise RuntimeError(
            f"{op}: expected a 5D weight, but got weight of size {list(weight.shape)}"
        )
    if input.dtype != weight.dtype or (bias is not None and bias.dtype != weight.dtype):
        raise RuntimeError(
            f"{op}: Input type ({input.dtype}) and weight type ({weight.dtype}) should be the same"
        )
    if groups <= 0:
        raise RuntimeError(f"{op}: non-positive groups is not supported, got {groups}")
    expected = weight.shape[1] * groups if in_channels_axis == 1 else weight.shape[0]
    if input.shape[-4] != expected:
        raise RuntimeError(
            f"{op}: Given groups={groups}, weight of size {list(weight.shape)}, expected input"
            f"{list(input.shape)} to have {expected} channels, but got {input.shape[-4]} "
            "channels instead"
        )


def _grouped(cols, wmat, groups):
    """cols (M, kvol, C) times per-group weights wmat (O, kvol * C / groups) -> (M, O)."""
    m, kvol, c = cols.shape
    if groups == 1:
        return cols.reshape(m, kvol * c) @ wmat.t()
    from ember._ops.shape import cat

    cg, og = c // groups, wmat.shape[0] // groups
    parts = [
        cols[:, :, g * cg : (g + 1) * cg].reshape(m, kvol * cg) @ wmat[g * og : (g + 1) * og].t()
        for g in range(groups)
    ]
    return cat(parts, 1)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D convolution of (N, C, D, H, W) (or unbatched (C, D, H, W)) input."""
    _check("conv3d", input, weight, bias, groups, 1)
    if input.dim() == 4:
        return conv3d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups)[0]
    k = tuple(weight.shape[2:])
    s, d = _triple(stride, "stride", "conv3d"), _triple(dilation, "dilation", "conv3d")
    p, extra = resolve_padding(padding, k, d, s, "conv3d")
    if any(extra):
        from ember._ops.pad import pad

        input = pad(input, (0, extra[2], 0, extra[1], 0, extra[0]))
    n = input.shape[0]
    padded = [size + 2 * pp for size, pp in zip(input.shape[2:], p)]
    if any(size < dd * (kk - 1) + 1 for size, kk, dd in zip(padded, k, d)):
        raise RuntimeError(
            f"conv3d: Calculated padded input size per channel: ({' x '.join(map(str, padded))})"
            f". Kernel size: ({' x '.join(map(str, k))}). Kernel size can't be greater than "
            "actual input size"
        )
    grid = tuple(map(conv_output_size, input.shape[2:], k, s, p, d))
    cols = _Unfold3d.apply(input, k, s, d, p, grid)
    o = weight.shape[0]
    wmat = weight.permute(0, 2, 3, 4, 1).reshape(o, -1)
    out = _grouped(cols, wmat, groups)
    if bias is not None:
        out = out + bias
    return out.reshape(n, *grid, o).permute(0, 4, 1, 2, 3)


def conv_transpose3d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    """The transpose (gradient with respect to the input) of a 3-D convolution."""
    _check("conv_transpose3d", input, weight, bias, groups, 0)
    if input.dim() == 4:
        return conv_transpose3d(
            input.unsqueeze(0), weight, bias, stride, padding, output_padding, groups, dilation
        )[0]
    k = tuple(weight.shape[2:])
    s = _triple(stride, "stride", "conv_transpose3d")
    d = _triple(dilation, "dilation", "conv_transpose3d")
    p = _triple(padding, "padding", "conv_transpose3d")
    op = _triple(output_padding, "output_padding", "conv_transpose3d")
    if any(o >= max(ss, dd) for o, ss, dd in zip(op, s, d)):
        raise RuntimeError(
            f"conv_transpose3d: output padding must be smaller than either stride or dilation, "
            f"but got output_padding={op}, stride={s}, dilation={d}"
        )
    n, c = input.shape[:2]
    grid = tuple(input.shape[2:])
    size = tuple(map(transposed_output_size, grid, k, s, p, d, op))
    if any(v <= 0 for v in size):
        raise RuntimeError(f"conv_transpose3d: the output size {size} is too small")
    cg, og = c // groups, weight.shape[1]
    rows = input.permute(0, 2, 3, 4, 1).reshape(-1, c)
    kvol = k[0] * k[1] * k[2]
    # per group: (M, cg) @ (cg, kvol * og) -> columns (M, kvol, og); channels of groups side by side
    wmat = weight.permute(0, 2, 3, 4, 1).reshape(c, kvol, og)
    parts = [
        (rows[:, g * cg : (g + 1) * cg] @ wmat[g * cg : (g + 1) * cg].reshape(cg, -1)).reshape(
            -1, kvol, og
        )
        for g in range(groups)
    ]
    if groups == 1:
        cols = parts[0]
    else:
        from ember._ops.shape import cat

        cols = cat(parts, 2)
    out = _Fold3d.apply(cols, (n, og * groups, *size), k, s, d, p, grid)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1, 1)
    return out
