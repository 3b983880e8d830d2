"""2-D convolution kernels as matrix products over the batch (im2col in NHWC layout).

Patches are read through a strided view of the channels-last input, so the copy that forms
the column matrix moves contiguous runs of channels; the product then goes to BLAS. For large
inputs the column matrix is formed a few images at a time into one reused buffer, so each block
is still in cache when BLAS reads it. The input's gradient is a matrix product per block
followed by a col2im accumulation over the kernel offsets; the weight's gradient is the
product of the output's gradient with the column matrix.

Each kernel returns an (N, C, H, W) view of channels-last memory; the op chooses the layout.
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ember.backends.registry import register

_CHUNK_ELEMS = 1 << 22  # column-matrix elements per chunk: 16 MB of float32 stays in cache
_CHUNK_ROWS = 512  # fewer rows than this per chunk and BLAS slows down: use one chunk


def _out_size(size, kernel, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _extent(count, kernel, stride, dilation):
    """How far ``count`` windows reach along one axis."""
    return (count - 1) * stride + dilation * (kernel - 1) + 1


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


def _col2im_into(out, dcols, kh, kw, stride, dilation, oh, ow):
    """Add columns (N, OH, OW, kh, kw, C) into the padded NHWC array `out` in place."""
    for i in range(kh):
        for j in range(kw):
            hs, ws = i * dilation[0], j * dilation[1]
            dst = out[:, hs : hs + stride[0] * oh : stride[0], ws : ws + stride[1] * ow : stride[1]]
            np.add(dst, dcols[:, :, :, i, j], out=dst)


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


def _batch_step(n, rows, k):
    """Images per chunk when each image gives ``rows`` rows of ``k`` columns."""
    step = max(1, _CHUNK_ELEMS // max(1, rows * k))
    return n if step * rows < _CHUNK_ROWS else step


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
        self.step = _batch_step(n, self.rows, self.k)
        self.ranges = [(s, min(s + self.step, n)) for s in range(0, n, self.step)]
        self.direct = kh == kw == 1 and stride == (1, 1) and x_nhwc.flags.c_contiguous
        self.x = x_nhwc
        self.geom = (kh, kw, stride, dilation, oh, ow)
        self.buf = None

    def __call__(self, lo, hi):
        """Columns for images lo:hi, shape ((hi - lo) * OH * OW, kh * kw * C)."""
        if self.direct:
            return self.x[lo:hi].reshape(-1, self.k)
        if self.buf is None:
            self.buf = np.empty(min(self.step, self.x.shape[0]) * self.rows * self.k, self.x.dtype)
        cols = self.buf[: (hi - lo) * self.rows * self.k].reshape(-1, self.k)
        kh, kw, stride, dilation, oh, ow = self.geom
        cols.reshape(hi - lo, oh, ow, kh, kw, -1)[...] = _patches(
            self.x[lo:hi], kh, kw, stride, dilation, oh, ow
        )
        return cols


def _rows_nhwc(a):
    """(N, C, H, W) -> C-contiguous (N * H * W, C) rows."""
    n, c = a.shape[:2]
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).reshape(-1, c)


@register("conv2d", "numpy")
def conv2d(x, w, b, stride, padding, dilation, groups):
    """Forward convolution of NCHW ``x`` with (O, C / groups, kH, kW) ``w`` and bias ``b``."""
    n = x.shape[0]
    o, cg, kh, kw = w.shape
    oh, ow = map(_out_size, x.shape[2:], w.shape[2:], stride, padding, dilation)
    x_nhwc = _to_padded_nhwc(x, *padding)
    og = o // groups
    out = np.empty((n * oh * ow, o), x.dtype)
    for g in range(groups):
        xg = x_nhwc[..., g * cg : (g + 1) * cg] if groups > 1 else x_nhwc
        cols = _Columns(xg, kh, kw, stride, dilation, oh, ow)
        wmat_t = w[g * og : (g + 1) * og].transpose(2, 3, 1, 0).reshape(-1, og)
        for lo, hi in cols.ranges:
            rows = slice(lo * oh * ow, hi * oh * ow)
            if groups == 1:
                np.matmul(cols(lo, hi), wmat_t, out=out[rows])
            else:
                out[rows, g * og : (g + 1) * og] = cols(lo, hi) @ wmat_t
    if b is not None:
        out += b
    return out.reshape(n, oh, ow, o).transpose(0, 3, 1, 2)


@register("conv2d_grad_input", "numpy")
def conv2d_grad_input(g, w, in_hw, stride, padding, dilation, groups):
    """The gradient of a convolution's (N, C, *in_hw) input, from its output's gradient ``g``
    (also the transposed convolution of ``g``)."""
    n, o, oh, ow = g.shape
    _, cg, kh, kw = w.shape
    og = o // groups
    (h, wd), (ph, pw) = in_hw, padding
    full_h = max(h + 2 * ph, _extent(oh, kh, stride[0], dilation[0]))
    full_w = max(wd + 2 * pw, _extent(ow, kw, stride[1], dilation[1]))
    dx_pad = np.zeros((n, full_h, full_w, cg * groups), g.dtype)
    g_rows = _rows_nhwc(g)
    step = _batch_step(n, oh * ow, kh * kw * cg)
    for grp in range(groups):
        wmat = w[grp * og : (grp + 1) * og].transpose(0, 2, 3, 1).reshape(og, -1)
        dst = dx_pad[..., grp * cg : (grp + 1) * cg]
        for lo in range(0, n, step):
            hi = min(lo + step, n)
            gc = g_rows[lo * oh * ow : hi * oh * ow, grp * og : (grp + 1) * og]
            dcols = (gc @ wmat).reshape(hi - lo, oh, ow, kh, kw, cg)
            _col2im_into(dst[lo:hi], dcols, kh, kw, stride, dilation, oh, ow)
    return dx_pad[:, ph : ph + h, pw : pw + wd].transpose(0, 3, 1, 2)


@register("conv2d_grad_weight", "numpy")
def conv2d_grad_weight(x, g, kernel_hw, stride, padding, dilation, groups, with_bias):
    """(weight gradient, bias gradient or None) of a convolution, from its input ``x`` and
    output gradient ``g``."""
    cg = x.shape[1] // groups
    o, oh, ow = g.shape[1:]
    og = o // groups
    kh, kw = kernel_hw
    x_nhwc = _to_padded_nhwc(x, *padding)
    g_rows = _rows_nhwc(g)
    dw = np.empty((o, cg, kh, kw), x.dtype)
    for grp in range(groups):
        xg = x_nhwc[..., grp * cg : (grp + 1) * cg] if groups > 1 else x_nhwc
        cols = _Columns(xg, kh, kw, stride, dilation, oh, ow)
        dwmat = np.zeros((og, cols.k), x.dtype)
        for lo, hi in cols.ranges:
            dwmat += g_rows[lo * oh * ow : hi * oh * ow, grp * og : (grp + 1) * og].T @ cols(lo, hi)
        dw[grp * og : (grp + 1) * og] = dwmat.reshape(og, kh, kw, cg).transpose(0, 3, 1, 2)
    return dw, (g_rows.sum(axis=0) if with_bias else None)


@register("conv2d_backward", "numpy")
def conv2d_backward(x, g, w, stride, padding, dilation, groups, with_bias):
    """(input gradient, weight gradient, bias gradient or None) of a convolution, both
    kernels reading one channels-last copy of the output gradient."""
    g = np.ascontiguousarray(g.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    dx = conv2d_grad_input(g, w, x.shape[2:], stride, padding, dilation, groups)
    return (
        dx,
        *conv2d_grad_weight(x, g, w.shape[2:], stride, padding, dilation, groups, with_bias),
    )
