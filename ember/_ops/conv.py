"""Convolutions as matrix products over the batch (im2col in NHWC layout).

Patches are read through a strided view of the channels-last input, so the copy that forms
the column matrix moves contiguous runs of channels; the product then goes to BLAS. For large
inputs the column matrix is formed a few images at a time into one reused buffer, so each block
is still in cache when BLAS reads it. The backward pass is the same two matrix products plus a
col2im accumulation over the kernel offsets. A backward pass that is itself recorded
(``create_graph=True``) differentiates `reference_conv2d` instead, so double backward works.
float32 convolutions run on oneDNN's kernels where the library is installed (`conv_onednn`).
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ember._ops._geometry import (
    _pair,
    _single,
    conv_output_size,
    output_padding_for,
    resolve_padding,
    transposed_output_size,
    windows_extent,
)
from ember._ops._util import in_layout_of
from ember._ops.conv_onednn import Conv2dOneDNN, plan_for
from ember._tensor import wrap
from ember.autograd.function import ArrayFunction, recorded_backward
from ember.autograd.grad_mode import is_grad_enabled

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "unfold", "fold"]


def _patches(x_nhwc, kh, kw, stride, dilation, oh, ow):
    """View (N, OH, OW, kh, kw, C) of the windows of a padded NHWC array."""
    n, _, _, c = x_nhwc.shape
    sn, sh, sw, sc = x_nhwc.strides
    return as_strided(
        x_nhwc,
        (n, oh, ow, kh, kw, c),
        (sn, sh * stride[0], sw * stride[1], sh * dilation[0], sw * dilation[1], sc),
        writeable=False,
    )


def check_conv_args(op, stride, padding, dilation, groups):
    """PyTorch's errors for a non-positive stride, dilation or groups and a negative padding
    (arithmetic on them would otherwise fail deep inside with a ZeroDivisionError)."""
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"{op}: non-positive stride is not supported, got stride={list(stride)}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"{op}: dilation should be greater than zero, but got {list(dilation)}")
    if not isinstance(padding, str) and any(p < 0 for p in _pair(padding)):
        raise RuntimeError(
            f"{op}: negative padding is not supported, got padding={list(_pair(padding))}"
        )
    if groups <= 0:
        raise RuntimeError(f"{op}: non-positive groups is not supported, got groups={groups}")


def _col2im(dcols, shape_nhwc, kh, kw, stride, dilation, oh, ow):
    """Sum columns (N, OH, OW, kh, kw, C) back into a padded NHWC array."""
    out = np.zeros(shape_nhwc, dcols.dtype)
    _col2im_into(out, dcols, kh, kw, stride, dilation, oh, ow)
    return out


def _col2im_into(out, dcols, kh, kw, stride, dilation, oh, ow):
    """Add columns (N, OH, OW, kh, kw, C) into the padded NHWC array `out` in place."""
    for i in range(kh):
        for j in range(kw):
            hs, ws = i * dilation[0], j * dilation[1]
            dst = out[:, hs : hs + stride[0] * oh : stride[0], ws : ws + stride[1] * ow : stride[1]]
            np.add(dst, dcols[:, :, :, i, j], out=dst)


_CHUNK_ELEMS = 1 << 22  # column-matrix elements per chunk: 16 MB of float32 stays in cache
_CHUNK_ROWS = 512  # fewer rows than this per chunk and BLAS slows down: use one chunk


def _to_padded_nhwc(x, ph, pw):
    """NCHW -> a new zero-padded NHWC array, written in one pass."""
    n, c, h, w = x.shape
    out = np.empty((n, h + 2 * ph, w + 2 * pw, c), x.dtype)
    if ph:
        out[:, :ph] = 0
        out[:, ph + h :] = 0
    if pw:
        out[:, ph : ph + h, :pw] = 0
        out[:, ph : ph + h, pw + w :] = 0
    out[:, ph : ph + h, pw : pw + w] = x.transpose(0, 2, 3, 1)
    return out


class _Columns:
    """im2col of a padded NHWC input, a few images at a time.

    Working in batch chunks keeps each column block in cache between its copy and the matrix
    product that consumes it, and reuses one buffer instead of allocating the whole column
    matrix (whose fresh pages cost as much as the copy itself).
    """

    def __init__(self, x_nhwc, kh, kw, stride, dilation, oh, ow):
        n, c = x_nhwc.shape[0], x_nhwc.shape[3]
        self.k = kh * kw * c
        self.rows = oh * ow
        self.step = max(1, _CHUNK_ELEMS // (self.rows * self.k))
        if self.step * self.rows < _CHUNK_ROWS:
            self.step = n
        self.ranges = [(s, min(s + self.step, n)) for s in range(0, n, self.step)]
        self.direct = kh == kw == 1 and stride == (1, 1) and x_nhwc.flags.c_contiguous
        self.x = x_nhwc
        self.geom = (kh, kw, stride, dilation, oh, ow)
        self.buf = None
        self.filled = None

    def __call__(self, lo, hi):
        """Columns for images lo:hi, shape ((hi - lo) * OH * OW, kh * kw * C).

        The block last formed is kept, so a backward pass over a single chunk reuses the
        forward pass's copy.
        """
        if self.direct:
            return self.x[lo:hi].reshape(-1, self.k)
        if self.buf is None:
            self.buf = np.empty(min(self.step, self.x.shape[0]) * self.rows * self.k, self.x.dtype)
        cols = self.buf[: (hi - lo) * self.rows * self.k].reshape(-1, self.k)
        if self.filled != (lo, hi):
            kh, kw, stride, dilation, oh, ow = self.geom
            src = _patches(self.x[lo:hi], kh, kw, stride, dilation, oh, ow)
            cols.reshape(src.shape)[...] = src
            self.filled = (lo, hi)
        return cols


class Conv2d(ArrayFunction):
    @staticmethod
    def forward(ctx, x, w, b, stride, padding, dilation, groups):
        n, c, h, wd = x.shape
        o, cg, kh, kw = w.shape
        ph, pw = padding
        oh = conv_output_size(h, kh, stride[0], ph, dilation[0])
        ow = conv_output_size(wd, kw, stride[1], pw, dilation[1])
        x_nhwc = _to_padded_nhwc(x, ph, pw)
        og = o // groups
        out = np.empty((n * oh * ow, o), x.dtype)
        cols_all = []
        for g in range(groups):
            xg = x_nhwc[..., g * cg : (g + 1) * cg] if groups > 1 else x_nhwc
            cols = _Columns(xg, kh, kw, stride, dilation, oh, ow)
            cols_all.append(cols)
            wmat_t = w[g * og : (g + 1) * og].transpose(2, 3, 1, 0).reshape(-1, og)
            for lo, hi in cols.ranges:
                rows = slice(lo * oh * ow, hi * oh * ow)
                if groups == 1:
                    np.matmul(cols(lo, hi), wmat_t, out=out[rows])
                else:
                    out[rows, g * og : (g + 1) * og] = cols(lo, hi) @ wmat_t
        if b is not None:
            out += b
        ctx.save_for_backward(x, w, b)  # version check, and the recorded backward
        ctx.saved = (cols_all, x_nhwc.shape, w, (n, c, h, wd), oh, ow)
        ctx.args = (stride, padding, dilation, groups)
        return in_layout_of(out.reshape(n, oh, ow, o).transpose(0, 3, 1, 2), x)

    @staticmethod
    def backward(ctx, grad):
        stride, (ph, pw), dilation, groups = ctx.args
        if is_grad_enabled():
            return recorded_backward(ctx, reference_conv2d(*ctx.args), (grad,))
        x = ctx.saved_tensors[0]._data  # raises if an input was modified in place since forward
        cols_all, padded_shape, w, in_shape, oh, ow = ctx.saved
        n, c, h, wd = in_shape
        o, cg, kh, kw = w.shape
        og = o // groups
        g2 = np.ascontiguousarray(grad._data.transpose(0, 2, 3, 1)).reshape(n * oh * ow, o)
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        dw = np.empty_like(w) if need_w else None
        dx_pad = np.zeros(padded_shape, w.dtype) if need_x else None
        for g in range(groups):
            gg = g2[:, g * og : (g + 1) * og]
            wmat = w[g * og : (g + 1) * og].transpose(0, 2, 3, 1).reshape(og, -1)
            cols = cols_all[g]
            dwmat = np.zeros((og, cols.k), w.dtype) if need_w else None
            dst = dx_pad[..., g * cg : (g + 1) * cg] if need_x else None
            for lo, hi in reversed(cols.ranges):  # the last block formed is still in place
                gc = gg[lo * oh * ow : hi * oh * ow]
                if need_w:
                    dwmat += gc.T @ cols(lo, hi)
                if need_x:
                    dcols = (gc @ wmat).reshape(hi - lo, oh, ow, kh, kw, cg)
                    _col2im_into(dst[lo:hi], dcols, kh, kw, stride, dilation, oh, ow)
            if need_w:
                dw[g * og : (g + 1) * og] = dwmat.reshape(og, kh, kw, cg).transpose(0, 3, 1, 2)
        dx = None
        if need_x:
            dx = in_layout_of(dx_pad[:, ph : ph + h, pw : pw + wd].transpose(0, 3, 1, 2), x)
        db = g2.sum(axis=0) if need_b else None
        wr = lambda a: None if a is None else wrap(a)  # noqa: E731
        return wr(dx), wr(dw), wr(db), None, None, None, None


def reference_conv2d(stride, padding, dilation, groups):
    """conv2d written with differentiable ember ops (through conv3d's unfold), for backward
    passes that are themselves differentiated."""

    def run(x, w, b):
        from ember._ops.conv3d import conv3d

        out = conv3d(
            x.unsqueeze(2), w.unsqueeze(2), b, (1, *stride), (0, *padding), (1, *dilation), groups
        )
        return (out.squeeze(2),)

    return run


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution of (N, C, H, W) (or unbatched (C, H, W)) input."""
    if input.dim() == 3:
        return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(
            0
        )
    if input.dim() != 4:
        raise RuntimeError(
            f"Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: "
            f"{list(input.shape)}"
        )
    stride, dilation = _pair(stride), _pair(dilation)
    check_conv_args("conv2d", stride, padding, dilation, groups)
    if weight.dim() != 4:
        raise RuntimeError(
            f"conv2d: expected a 4-D weight (out_channels, in_channels / groups, kH, kW), got "
            f"weight of size {list(weight.shape)}"
        )
    if input.shape[1] != weight.shape[1] * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
            f"{list(input.shape)} to have {weight.shape[1] * groups} channels, but got "
            f"{input.shape[1]} channels instead"
        )
    if input.dtype != weight.dtype:
        raise RuntimeError(
            f"Input type ({input.dtype}) and weight type ({weight.dtype}) should be the same"
        )
    pad, extra = resolve_padding(padding, weight.shape[2:], dilation, stride, "conv2d")
    if any(extra):
        from ember._ops.pad import pad as pad_fn

        input = pad_fn(input, (0, extra[1], 0, extra[0]))
    h = input.shape[2] + 2 * pad[0]
    w = input.shape[3] + 2 * pad[1]
    if h < dilation[0] * (weight.shape[2] - 1) + 1 or w < dilation[1] * (weight.shape[3] - 1) + 1:
        raise RuntimeError(
            f"Calculated padded input size per channel: ({h} x {w}). Kernel size: "
            f"({weight.shape[2]} x {weight.shape[3]}). Kernel size can't be greater than actual "
            "input size"
        )
    out_hw = tuple(
        conv_output_size(size, k, s, 0, d)
        for size, k, s, d in zip((h, w), weight.shape[2:], stride, dilation)
    )
    plan = plan_for(input._data, weight._data, bias, stride, pad, dilation, groups, out_hw)
    if plan is not None:
        return Conv2dOneDNN.apply(input, weight, bias, plan, (stride, pad, dilation, groups))
    return Conv2d.apply(input, weight, bias, stride, pad, dilation, groups)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    if input.dim() == 2:
        return conv1d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(
            0
        )
    pad = padding if isinstance(padding, str) else (0, *_single(padding))
    out = conv2d(
        input.unsqueeze(2),
        weight.unsqueeze(2),
        bias,
        (1, *_single(stride)),
        pad,
        (1, *_single(dilation)),
        groups,
    )
    return out.squeeze(2)


class ConvTranspose2d(ArrayFunction):
    """The transpose (gradient with respect to the input) of a 2-D convolution."""

    @staticmethod
    def forward(ctx, x, w, b, stride, padding, output_padding, dilation, out_hw):
        n, c, h, wd = x.shape
        _, o, kh, kw = w.shape
        ph, pw = padding
        full_h = out_hw[0] + 2 * ph
        full_w = out_hw[1] + 2 * pw
        xm = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).reshape(n * h * wd, c)
        wmat = w.transpose(0, 2, 3, 1).reshape(c, kh * kw * o)
        cols = (xm @ wmat).reshape(n, h, wd, kh, kw, o)
        full = _col2im(cols, (n, full_h, full_w, o), kh, kw, stride, dilation, h, wd)
        out = full[:, ph : ph + out_hw[0], pw : pw + out_hw[1]].transpose(0, 3, 1, 2)
        out = in_layout_of(out, x)
        if b is not None:
            out += b.reshape(1, -1, 1, 1)
        ctx.save_for_backward(x, w)
        ctx.args = (stride, padding, dilation)
        return out

    @staticmethod
    def backward(ctx, grad):
        xt, wt = ctx.saved_tensors
        if is_grad_enabled():
            return _conv_transpose2d_grads(ctx, xt, wt, grad)
        stride, padding, dilation = ctx.args
        x, w, g = xt._data, wt._data, grad._data
        n, c, h, wd = x.shape
        _, o, kh, kw = w.shape
        ph, pw = padding
        g_nhwc = np.pad(
            np.ascontiguousarray(g.transpose(0, 2, 3, 1)), ((0, 0), (ph, ph), (pw, pw), (0, 0))
        )
        full_h, full_w = g_nhwc.shape[1], g_nhwc.shape[2]
        need_rows = windows_extent(h, kh, stride[0], dilation[0])
        need_cols = windows_extent(wd, kw, stride[1], dilation[1])
        if full_h < need_rows or full_w < need_cols:
            g_nhwc = np.pad(
                g_nhwc,
                ((0, 0), (0, max(0, need_rows - full_h)), (0, max(0, need_cols - full_w)), (0, 0)),
            )
        cols = _patches(g_nhwc, kh, kw, stride, dilation, h, wd).reshape(n * h * wd, -1)
        wmat = w.transpose(0, 2, 3, 1).reshape(c, kh * kw * o)
        dx = in_layout_of((cols @ wmat.T).reshape(n, h, wd, c).transpose(0, 3, 1, 2), x)
        xm = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).reshape(n * h * wd, c)
        dw = np.ascontiguousarray((xm.T @ cols).reshape(c, kh, kw, o).transpose(0, 3, 1, 2))
        db = g.sum(axis=(0, 2, 3)) if ctx.needs_input_grad[2] else None
        wr = lambda a: None if a is None else wrap(a)  # noqa: E731
        return wr(dx), wr(dw), wr(db), None, None, None, None, None


def _conv_transpose2d_grads(ctx, x, w, grad):
    """Input, weight and bias gradients of conv_transpose2d as differentiable conv2d calls.

    The input gradient is the convolution of ``grad`` with the same weight; the weight
    gradient correlates ``grad`` with the input, batch and channel axes swapped (stride and
    dilation trade places). Both results are cut to size, as output padding can make the
    convolution one step longer.
    """
    stride, padding, dilation = ctx.args
    h, wd = x.shape[2:]
    kh, kw = w.shape[2:]
    need_x, need_w, need_b = ctx.needs_input_grad[:3]
    dx = dw = db = None
    if need_x:
        dx = conv2d(grad, w, None, stride, padding, dilation)[:, :, :h, :wd]
    if need_w:
        dw = conv2d(grad.transpose(0, 1), x.transpose(0, 1), None, dilation, padding, stride)
        dw = dw[:, :, :kh, :kw].transpose(0, 1)
    if need_b:
        db = grad.sum((0, 2, 3))
    return dx, dw, db, None, None, None, None, None


def conv_transpose2d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    if groups != 1:
        raise NotImplementedError("ember's conv_transpose2d supports groups=1 only")
    if input.dim() == 3:
        return conv_transpose2d(
            input.unsqueeze(0), weight, bias, stride, padding, output_padding, groups, dilation
        ).squeeze(0)
    stride, padding = _pair(stride), _pair(padding)
    output_padding, dilation = _pair(output_padding), _pair(dilation)
    check_conv_args("conv_transpose2d", stride, padding, dilation, groups)
    if input.shape[1] != weight.shape[0]:
        raise RuntimeError(
            f"conv_transpose2d: input has {input.shape[1]} channels but weight "
            f"{list(weight.shape)} expects {weight.shape[0]}"
        )
    out_hw = tuple(
        map(
            transposed_output_size,
            input.shape[2:],
            weight.shape[2:],
            stride,
            padding,
            dilation,
            output_padding,
        )
    )
    return ConvTranspose2d.apply(
        input, weight, bias, stride, padding, output_padding, dilation, out_hw
    )


def conv_transpose1d(
    input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1
):
    out = conv_transpose2d(
        input.unsqueeze(2),
        weight.unsqueeze(2),
        bias,
        (1, *_single(stride)),
        (0, *_single(padding)),
        (0, *_single(output_padding)),
        groups,
        (1, *_single(dilation)),
    )
    return out.squeeze(2)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """(N, C, H, W) -> (N, C * kh * kw, L) columns, as F.unfold."""
    kh, kw = _pair(kernel_size)
    c = input.shape[1]
    eye = wrap(np.eye(c * kh * kw, dtype=input._data.dtype).reshape(c * kh * kw, c, kh, kw))
    out = conv2d(input, eye, None, stride, padding, dilation)
    return out.reshape(out.shape[0], c * kh * kw, -1)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The adjoint of unfold: sums columns back into (N, C, H, W)."""
    kh, kw = _pair(kernel_size)
    oh, ow = _pair(output_size)
    n, ckk, length = input.shape
    c = ckk // (kh * kw)
    stride, dilation, padding = _pair(stride), _pair(dilation), _pair(padding)
    lh = conv_output_size(oh, kh, stride[0], padding[0], dilation[0])
    lw = conv_output_size(ow, kw, stride[1], padding[1], dilation[1])
    if lh * lw != length:
        raise RuntimeError(
            f"Given output_size={(oh, ow)}, kernel_size={(kh, kw)}, expected size of input's "
            f"dimension 2 to match the calculated number of sliding blocks {lh} * {lw} = "
            f"{lh * lw}, but got input.size(2)={length}."
        )
    eye = wrap(np.eye(c * kh * kw, dtype=input._data.dtype).reshape(c * kh * kw, c, kh, kw))
    cols = input.reshape(n, ckk, lh, lw)
    out_pad = output_padding_for((oh, ow), (lh, lw), (kh, kw), stride, padding, dilation)
    return conv_transpose2d(cols, eye, None, stride, padding, out_pad, 1, dilation)
