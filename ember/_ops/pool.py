"""Pooling through strided window views: max, average, adaptive, and max-unpooling."""

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

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
    "max_unpool2d",
    "lp_pool2d",
]


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _out_len(size, k, s, p, d, ceil_mode):
    span = size + 2 * p - d * (k - 1) - 1
    n = (math.ceil(span / s) if ceil_mode else span // s) + 1
    if ceil_mode and (n - 1) * s >= size + p:
        n -= 1  # the last window must start inside the input or the left padding
    return n


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


def _geometry(x, kernel_size, stride, padding, dilation, ceil_mode, op):
    k = _pair(kernel_size)
    s = _pair(stride) if stride not in (None, []) else k
    p, d = _pair(padding), _pair(dilation)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise RuntimeError(
            f"{op}: pad should be at most half of effective kernel size, but got pad={p}, "
            f"kernel_size={k}"
        )
    h, w = x.shape[2:]
    oh = _out_len(h, k[0], s[0], p[0], d[0], ceil_mode)
    ow = _out_len(w, k[1], s[1], p[1], d[1], ceil_mode)
    if oh <= 0 or ow <= 0:
        raise RuntimeError(
            f"{op}: Given input size ({x.shape[1]}x{h}x{w}), calculated output size "
            f"({x.shape[1]}x{oh}x{ow}). Output size is too small"
        )
    # right/bottom padding so that every window lies inside the padded array
    extra_h = max(0, (oh - 1) * s[0] + d[0] * (k[0] - 1) + 1 - (h + 2 * p[0]))
    extra_w = max(0, (ow - 1) * s[1] + d[1] * (k[1] - 1) + 1 - (w + 2 * p[1]))
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
        ctx.indices = rows * x.shape[3] + cols
        ctx.in_shape = x.shape
        return out, ctx.indices

    @staticmethod
    def backward(ctx, g, _gi):
        return (
            _MaxUnpoolGrad.apply(g, ctx.indices, ctx.in_shape),
            None,
            None,
            None,
            None,
            None,
            None,
        )


class _MaxUnpoolGrad(ArrayFunction):
    """Scatter-add values to flat spatial indices (the backward of max pooling)."""

    @staticmethod
    def forward(ctx, g, indices, in_shape):
        n, c, h, w = in_shape
        out = np.zeros((n * c, h * w), g.dtype)
        flat_idx = indices.reshape(n * c, -1)
        np.add.at(out, (np.arange(n * c)[:, None], flat_idx), g.reshape(n * c, -1))
        ctx.indices = indices
        return out.reshape(in_shape)

    @staticmethod
    def backward(ctx, gg):
        n, c = gg.shape[:2]
        flat = gg.reshape(n, c, -1)
        idx = wrap(ctx.indices.reshape(n, c, -1))
        return flat.gather(2, idx).reshape(ctx.indices.shape), None, None


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
    out, idx = MaxPool2d.apply(input, k, s, d, oh, ow, pads)
    return (out, idx) if return_indices else out


def max_pool1d(
    input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False
):
    s = kernel_size if stride in (None, []) else stride
    r = max_pool2d(
        input.unsqueeze(-2),
        (1, _one(kernel_size)),
        (1, _one(s)),
        (0, _one(padding)),
        (1, _one(dilation)),
        ceil_mode,
        return_indices,
    )
    if return_indices:
        return r[0].squeeze(-2), r[1].squeeze(-2)
    return r.squeeze(-2)


def _one(v):
    return v if isinstance(v, int) else v[0]


class AvgPool2d(ArrayFunction):
    @staticmethod
    def forward(ctx, x, k, s, oh, ow, pads, divisor):
        xp = np.pad(x, ((0, 0), (0, 0)) + pads)
        win = _windows(xp, k, s, (1, 1), oh, ow)
        ctx.args = (k, s, oh, ow, pads, x.shape, xp.shape)
        ctx.divisor = divisor
        return (win.sum(axis=(-2, -1)) / divisor).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        k, s, oh, ow, pads, in_shape, padded_shape = ctx.args
        gd = g._data / ctx.divisor
        out = np.zeros(padded_shape, gd.dtype)
        for i in range(k[0]):
            for j in range(k[1]):
                out[:, :, i : i + s[0] * oh : s[0], j : j + s[1] * ow : s[1]] += gd
        h, w = in_shape[2:]
        return wrap(out[:, :, pads[0][0] : pads[0][0] + h, pads[1][0] : pads[1][0] + w]), *(
            None,
        ) * 6


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
        (1, _one(kernel_size)),
        (1, _one(s)),
        (0, _one(padding)),
        ceil_mode,
        count_include_pad,
    ).squeeze(-2)


def _adaptive_bounds(size, out):
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


def _adaptive(input, output_size, reduce):
    from ember._ops.shape import stack

    oh, ow = _pair(output_size)
    h, w = input.shape[-2:]
    oh = h if oh is None else oh
    ow = w if ow is None else ow
    if h % oh == 0 and w % ow == 0:
        x = input.reshape(*input.shape[:-2], oh, h // oh, ow, w // ow)
        return reduce(x, (-3, -1))
    rows = []
    for h0, h1 in _adaptive_bounds(h, oh):
        cells = [reduce(input[..., h0:h1, w0:w1], (-2, -1)) for w0, w1 in _adaptive_bounds(w, ow)]
        rows.append(stack(cells, -1))
    return stack(rows, -2)


def adaptive_avg_pool2d(input, output_size):
    return _adaptive(input, output_size, lambda t, dims: t.mean(dims))


def adaptive_max_pool2d(input, output_size, return_indices=False):
    if return_indices:
        raise NotImplementedError("ember's adaptive_max_pool2d does not return indices yet")
    return _adaptive(input, output_size, lambda t, dims: t.amax(dims))


def adaptive_avg_pool1d(input, output_size):
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, _one(output_size))).squeeze(-2)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    return adaptive_max_pool2d(input.unsqueeze(-2), (1, _one(output_size))).squeeze(-2)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    k = _pair(kernel_size)
    s = _pair(stride) if stride is not None else k
    p = _pair(padding)
    if output_size is None:
        output_size = tuple(
            (n - 1) * st - 2 * pp + kk for n, st, pp, kk in zip(input.shape[-2:], s, p, k)
        )
    shape = tuple(input.shape[:2]) + tuple(output_size[-2:])
    return _MaxUnpoolGrad.apply(input, indices._data, shape)


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    k = _pair(kernel_size)
    out = avg_pool2d(input**norm_type, k, stride, 0, ceil_mode)
    return (out.sign() * out.abs()).relu().mul(k[0] * k[1]) ** (1.0 / norm_type)
