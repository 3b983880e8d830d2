"""Pooling through strided window views: max, average, adaptive, and max-unpooling."""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ember._ops._geometry import (
    _pair,
    _single,
    conv_output_size,
    transposed_output_size,
    windows_extent,
)
from ember._ops.max_pool_tiled import MaxPool2dTiled
from ember._tensor import wrap
from ember.autograd.function import ArrayFunction

__all__ = [
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "max_unpool1d",
    "max_unpool2d",
    "lp_pool2d",
]


def _windows(xp, k, s, d, oh, ow):
    """View (N, C, OH, OW, kh, kw) of the windows of a padded NCHW array."""
    n, c = xp.shape[:2]
    sn, sc, sh, sw = xp.strides
    return as_strided(
        xp,
        (n, c, oh, ow, k[0], k[1]),
        (sn, sc, sh * s[0], sw * s[1], sh * d[0], sw * d[1]),
        writeable=False,
    )


def _check_pool_args(op, k, s, p, d):
    """PyTorch's errors for non-positive kernel sizes, strides and dilations, negative pads."""
    for name, v in (("kernel_size", k), ("stride", s), ("dilation", d)):
        if any(x <= 0 for x in v):
            raise RuntimeError(f"{op}: {name} should be greater than zero, but got {name}={v}")
    if any(x < 0 for x in p):
        raise RuntimeError(f"{op}: pad must be non-negative, but got pad={p}")


def _geometry(x, kernel_size, stride, padding, dilation, ceil_mode, op):
    k = _pair(kernel_size)
    s = _pair(stride) if stride not in (None, []) else k
    p, d = _pair(padding), _pair(dilation)
    _check_pool_args(op, k, s, p, d)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise RuntimeError(
            f"{op}: pad should be at most half of effective kernel size, but got pad={p}, "
            f"kernel_size={k}"
        )
    h, w = x.shape[2:]
    oh = conv_output_size(h, k[0], s[0], p[0], d[0], ceil_mode)
    ow = conv_output_size(w, k[1], s[1], p[1], d[1], ceil_mode)
    if oh <= 0 or ow <= 0:
        raise RuntimeError(
            f"{op}: Given input size ({x.shape[1]}x{h}x{w}), calculated output size "
            f"({x.shape[1]}x{oh}x{ow}). Output size is too small"
        )
    # right/bottom padding so that every window lies inside the padded array
    extra_h = max(0, windows_extent(oh, k[0], s[0], d[0]) - (h + 2 * p[0]))
    extra_w = max(0, windows_extent(ow, k[1], s[1], d[1]) - (w + 2 * p[1]))
    return k, s, p, d, oh, ow, ((p[0], p[0] + extra_h), (p[1], p[1] + extra_w))


class MaxPool2d(ArrayFunction):
    @staticmethod
    def forward(ctx, x, k, s, d, oh, ow, pads):
        fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        xp = np.pad(x, ((0, 0), (0, 0)) + pads, constant_values=fill)
        win = _windows(xp, k, s, d, oh, ow).reshape(x.shape[0], x.shape[1], oh, ow, -1)
        arg = win.argmax(axis=-1)
        out = np.take_along_axis(win, arg[..., None], axis=-1)[..., 0]
        # flat index of each maximum in the unpadded input (PyTorch's return_indices)
        ki, kj = np.divmod(arg, k[1])
        rows = np.arange(oh)[:, None] * s[0] + ki * d[0] - pads[0][0]
        cols = np.arange(ow)[None, :] * s[1] + kj * d[1] - pads[1][0]
        indices = rows * x.shape[3] + cols
        ctx.save_for_backward(x, indices)  # the input only for the version check, as torch
        ctx.mark_non_differentiable(indices)
        return out, indices

    @staticmethod
    def backward(ctx, g, _gi):
        x, indices = ctx.saved_tensors
        return _MaxUnpoolGrad.apply(g, indices, tuple(x.shape)), None, None, None, None, None, None


class _MaxUnpoolGrad(ArrayFunction):
    """Scatter-add values to flat spatial indices (the backward of max pooling)."""

    @staticmethod
    def forward(ctx, g, indices, in_shape):
        n, c, h, w = in_shape
        out = np.zeros((n * c, h * w), g.dtype)
        flat_idx = indices.reshape(n * c, -1)
        np.add.at(out, (np.arange(n * c)[:, None], flat_idx), g.reshape(n * c, -1))
        ctx.save_for_backward(indices)
        return out.reshape(in_shape)

    @staticmethod
    def backward(ctx, gg):
        (indices,) = ctx.saved_tensors
        n, c = gg.shape[:2]
        flat = gg.reshape(n, c, -1)
        return flat.gather(2, indices.reshape(n, c, -1)).reshape(indices.shape), None, None


class _MaxUnpool(ArrayFunction):
    """Write values to flat spatial indices of zeros (where indices repeat, the last wins)."""

    @staticmethod
    def forward(ctx, x, indices, out_shape):
        n, c, h, w = out_shape
        out = np.zeros((n * c, h * w), x.dtype)
        out[np.arange(n * c)[:, None], indices.reshape(n * c, -1)] = x.reshape(n * c, -1)
        ctx.save_for_backward(indices)
        return out.reshape(out_shape)

    @staticmethod
    def backward(ctx, g):
        (indices,) = ctx.saved_tensors
        n, c = g.shape[:2]
        picked = g.reshape(n, c, -1).gather(2, indices.reshape(n, c, -1))
        return picked.reshape(indices.shape), None, None


def max_pool2d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    if input.dim() == 3:
        r = max_pool2d(
            input.unsqueeze(0), kernel_size, stride, padding, dilation, ceil_mode, return_indices
        )
        return (r[0].squeeze(0), r[1].squeeze(0)) if return_indices else r.squeeze(0)
    if input.dim() != 4:
        raise RuntimeError(f"max_pool2d: Expected 3D or 4D input, got {list(input.shape)}")
    k, s, _, d, oh, ow, pads = _geometry(
        input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d"
    )
    if s == k and d == (1, 1) and pads == ((0, 0), (0, 0)):
        return MaxPool2dTiled.apply(input, k, oh, ow, return_indices)
    out, idx = MaxPool2d.apply(input, k, s, d, oh, ow, pads)
    return (out, idx) if return_indices else out


def max_pool1d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    s = kernel_size if stride in (None, []) else stride
    r = max_pool2d(
        input.unsqueeze(-2),
        (1, *_single(kernel_size)),
        (1, *_single(s)),
        (0, *_single(padding)),
        (1, *_single(dilation)),
        ceil_mode,
        return_indices,
    )
    if return_indices:
        return r[0].squeeze(-2), r[1].squeeze(-2)
    return r.squeeze(-2)


class AvgPool2d(ArrayFunction):
    @staticmethod
    def forward(ctx, x, k, s, oh, ow, pads, divisor):
        xp = np.pad(x, ((0, 0), (0, 0)) + pads)
        win = _windows(xp, k, s, (1, 1), oh, ow)
        ctx.save_for_backward(x)  # for the version check only, as torch
        ctx.args = (k, s, oh, ow, pads, divisor)  # divisor: per-window counts, not an input
        return (win.sum(axis=(-2, -1)) / divisor).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return _AvgPoolGrad.apply(g, tuple(x.shape), ctx.args), *(None,) * 6


class _AvgPoolGrad(ArrayFunction):
    """The adjoint of average pooling: each window's gradient spread over its cells."""

    @staticmethod
    def forward(ctx, g, in_shape, args):
        k, s, oh, ow, pads, divisor = args
        ctx.args = args
        gd = (g / divisor).astype(g.dtype, copy=False)
        h, w = in_shape[2:]
        out = np.zeros(in_shape[:2] + (h + sum(pads[0]), w + sum(pads[1])), gd.dtype)
        for i in range(k[0]):
            for j in range(k[1]):
                out[:, :, i : i + s[0] * oh : s[0], j : j + s[1] * ow : s[1]] += gd
        return out[:, :, pads[0][0] : pads[0][0] + h, pads[1][0] : pads[1][0] + w]

    @staticmethod
    def backward(ctx, gg):
        k, s, oh, ow, pads, divisor = ctx.args
        return AvgPool2d.apply(gg, k, s, oh, ow, pads, divisor), None, None


def avg_pool2d(
    input,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode=False,
    count_include_pad=True,
    divisor_override=None,
):
    if input.dim() == 3:
        return avg_pool2d(
            input.unsqueeze(0),
            kernel_size,
            stride,
            padding,
            ceil_mode,
            count_include_pad,
            divisor_override,
        ).squeeze(0)
    k, s, p, _, oh, ow, pads = _geometry(
        input, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d"
    )
    if divisor_override is not None:
        divisor = float(divisor_override)
    else:
        # Count the cells of each window that lie in the input (plus the declared padding
        # when count_include_pad), never the extra cells ceil_mode adds.
        h, w = input.shape[2:]
        mask = np.zeros((1, 1, h + pads[0][0] + pads[0][1], w + pads[1][0] + pads[1][1]))
        if count_include_pad:
            mask[:, :, : h + 2 * p[0], : w + 2 * p[1]] = 1
        else:
            mask[:, :, p[0] : p[0] + h, p[1] : p[1] + w] = 1
        divisor = _windows(mask, k, s, (1, 1), oh, ow).sum(axis=(-2, -1))
    return AvgPool2d.apply(input, k, s, oh, ow, pads, divisor)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    s = kernel_size if stride in (None, []) else stride
    return avg_pool2d(
        input.unsqueeze(-2),
        (1, *_single(kernel_size)),
        (1, *_single(s)),
        (0, *_single(padding)),
        ceil_mode,
        count_include_pad,
    ).squeeze(-2)


def _averaging_matrix(size, out, dtype):
    """(out, size) matrix whose row i averages PyTorch's adaptive window i."""
    start = np.arange(out) * size // out
    end = -(-(np.arange(out) + 1) * size // out)
    pos = np.arange(size)
    inside = (pos >= start[:, None]) & (pos < end[:, None])
    return (inside / (end - start)[:, None]).astype(dtype)


def adaptive_avg_pool2d(input, output_size):
    """Means over adaptive windows of the last two dims: two small matrix products, or one
    reshape when the windows tile the input exactly."""
    oh, ow = _check_adaptive(input, output_size, "adaptive_avg_pool2d", 2)
    h, w = input.shape[-2:]
    if oh and ow and h % oh == 0 and w % ow == 0:
        x = input.reshape(*input.shape[:-2], oh, h // oh, ow, w // ow)
        return x.mean((-3, -1))
    dt = input._data.dtype
    rows = wrap(_averaging_matrix(h, oh, dt))
    cols = wrap(np.ascontiguousarray(_averaging_matrix(w, ow, dt).T))
    return rows @ input @ cols


class AdaptiveMaxPool2d(ArrayFunction):
    """Max over PyTorch's adaptive windows, with the flat spatial index of each maximum.

    Window sizes differ by at most one, so every window is gathered at the largest size,
    padded by repeating its own last row or column (which never changes the maximum nor
    moves the first one).
    """

    @staticmethod
    def forward(ctx, x, oh, ow):
        h, w = x.shape[-2:]
        rows, kh = _adaptive_index(h, oh)
        cols, kw = _adaptive_index(w, ow)
        win = x[..., rows[:, :, None, None], cols[None, None, :, :]]  # (N, C, oh, kh, ow, kw)
        win = win.transpose(0, 1, 2, 4, 3, 5).reshape(*x.shape[:2], oh, ow, kh * kw)
        arg = win.argmax(axis=-1)
        out = np.take_along_axis(win, arg[..., None], axis=-1)[..., 0]
        ki, kj = np.divmod(arg, kw)
        r = rows[np.arange(oh)[:, None], ki]
        c = cols[np.arange(ow)[None, :], kj]
        indices = r * w + c
        ctx.save_for_backward(x, indices)  # the input only for the version check, as torch
        ctx.mark_non_differentiable(indices)
        return out, indices

    @staticmethod
    def backward(ctx, g, _gi):
        x, indices = ctx.saved_tensors
        return _MaxUnpoolGrad.apply(g, indices, tuple(x.shape)), None, None


def _adaptive_index(size, out):
    """(out, k) positions of each adaptive window, its last position repeated to width k."""
    start = np.arange(out) * size // out
    end = -(-(np.arange(out) + 1) * size // out)
    k = int((end - start).max())
    return np.minimum(start[:, None] + np.arange(k), end[:, None] - 1), k


def _check_adaptive(input, output_size, op, spatial):
    if input.dim() not in (spatial + 1, spatial + 2):
        raise RuntimeError(
            f"{op}(): Expected {spatial + 1}D or {spatial + 2}D tensor, but got: "
            f"{list(input.shape)}"
        )
    sizes = tuple(input.shape[-spatial:])
    if 0 in sizes:
        raise RuntimeError(
            f"{op}(): Expected input to have non-zero size for non-batch dimensions, but input "
            f"has sizes {list(input.shape)}"
        )
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f'"{op}" not implemented for {input.dtype}')
    out = (output_size,) * spatial if isinstance(output_size, int) else tuple(output_size)
    if len(out) != spatial:
        raise RuntimeError(f"{op}(): output_size must have {spatial} elements, got {out}")
    out = tuple(n if o is None else o for o, n in zip(out, sizes))
    if any(o < 0 for o in out):
        raise RuntimeError(f"{op}(): output_size must be non-negative, got {out}")
    return out


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over adaptive windows of the last two dims; optionally their flat indices."""
    oh, ow = _check_adaptive(input, output_size, "adaptive_max_pool2d", 2)
    batched = input.dim() == 4
    x = input if batched else input.unsqueeze(0)
    if oh == 0 or ow == 0:
        out = x[..., :oh, :ow]
        idx = wrap(np.zeros(out.shape, np.int64))
    else:
        out, idx = AdaptiveMaxPool2d.apply(x, oh, ow)
    if not batched:
        out, idx = out.squeeze(0), idx.squeeze(0)
    return (out, idx) if return_indices else out


def adaptive_avg_pool1d(input, output_size):
    """Means over adaptive windows of the last dim."""
    (o,) = _check_adaptive(input, _single(output_size), "adaptive_avg_pool1d", 1)
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, o)).squeeze(-2)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max over adaptive windows of the last dim; optionally their indices."""
    (o,) = _check_adaptive(input, _single(output_size), "adaptive_max_pool1d", 1)
    out, idx = adaptive_max_pool2d(input.unsqueeze(-2), (1, o), return_indices=True)
    out, idx = out.squeeze(-2), idx.squeeze(-2)
    return (out, idx) if return_indices else out


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Scatter ``input`` to the flat spatial ``indices`` of a zero (N, C, H, W) output."""
    k = _pair(kernel_size)
    s = _pair(stride) if stride is not None else k
    p = _pair(padding)
    default = tuple(map(transposed_output_size, input.shape[-2:], k, s, p, (1, 1)))
    if output_size is None:
        output_size = default
    output_size = tuple(output_size)[-2:]
    for i, (o, d, st) in enumerate(zip(output_size, default, s)):
        if not d - st < o < d + st:
            raise ValueError(
                f'max_unpool2d: invalid output_size "{output_size}" (dim {i} must be between '
                f"{d - st + 1} and {d + st - 1})"
            )
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(
            "max_unpool2d: Expected shape of indices to be same as that of the input tensor "
            f"({list(input.shape)}) but got indices tensor with shape: {list(indices.shape)}"
        )
    idx = indices._data
    volume = output_size[0] * output_size[1]
    if idx.size and (idx.min() < 0 or idx.max() >= volume):
        bad = idx.max() if idx.max() >= volume else idx.min()
        raise RuntimeError(
            f"max_unpool2d: Found an invalid max index: {bad} (output volumes are of size "
            f"{output_size[0]}x{output_size[1]})"
        )
    if input.dim() == 3:
        return max_unpool2d(input.unsqueeze(0), indices.unsqueeze(0), k, s, p, output_size)[0]
    shape = tuple(input.shape[:2]) + output_size
    return _MaxUnpool.apply(input, indices, shape)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Scatter ``input`` to the ``indices`` of a zero (N, C, L) output."""
    s = kernel_size if stride is None else stride
    size = None if output_size is None else (1, tuple(_single(output_size))[-1])
    out = max_unpool2d(
        input.unsqueeze(-2),
        indices.unsqueeze(-2),
        (1, *_single(kernel_size)),
        (1, *_single(s)),
        (0, *_single(padding)),
        size,
    )
    return out.squeeze(-2)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    k = _pair(kernel_size)
    out = avg_pool2d(input**norm_type, k, stride, 0, ceil_mode)
    return (out.sign() * out.abs()).relu().mul(k[0] * k[1]) ** (1.0 / norm_type)
