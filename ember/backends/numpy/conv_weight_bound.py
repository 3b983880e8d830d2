"""2-D convolutions whose weight outweighs their input's patches: one matrix product that reads
the weight where it lies.

Late layers of a CNN at a small batch (ResNet's 3x3 convolutions on 4x4 maps at batch 1) hold
more weight than column elements. oneDNN's direct kernels read the weight in a blocked layout:
reordering it on every call costs more than the product, and keeping the reordered copy doubles
the model's memory. An (O, C, kh, kw) weight is already the (O, C * kh * kw) matrix of a
product with columns in (C, kh, kw) order, so here the columns are copied (they are the small
side) and the weight is not.
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ember.backends.numpy.conv import _out_size
from ember.backends.onednn import matmul as onednn_matmul
from ember.backends.registry import DECLINE, register


def _padded(x, ph, pw):
    """(N, C, H, W) -> a zero-padded copy, or ``x`` itself without padding."""
    if not (ph or pw):
        return x
    n, c, h, w = x.shape
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), x.dtype)
    out[:, :, ph : ph + h, pw : pw + w] = x
    return out


def _columns(x, kh, kw, stride, dilation, oh, ow):
    """(N, C * kh * kw, OH * OW) columns of a padded NCHW ``x``, in the weight's (C, kh, kw)
    order: a copy, or a view of ``x`` for a contiguous 1x1 convolution with stride 1."""
    n, c = x.shape[:2]
    if kh == kw == 1 and stride == (1, 1) and x.flags.c_contiguous:
        return x.reshape(n, c, oh * ow)
    sn, sc, sh, sw = x.strides
    view = as_strided(
        x,
        (n, c, kh, kw, oh, ow),
        (sn, sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1]),
        writeable=False,
    )
    return view.reshape(n, c * kh * kw, oh * ow)


def _weight_bound(x, w, groups, oh, ow):
    """True where the weight has at least four times as many elements as the column matrix
    (ResNet-18's convolutions at batch 32, with as many of each, run faster on oneDNN)."""
    return groups == 1 and w.size >= 4 * x.shape[0] * w[0].size * oh * ow


@register("conv2d", "numpy", dtypes=[np.float32, np.float64], priority=20)
def conv2d(x, w, b, stride, padding, dilation, groups):
    """The convolution as weight (O, C * kh * kw) times columns where the weight outweighs
    the columns (`_weight_bound`; declines elsewhere); the result is contiguous NCHW."""
    if x.__class__ is not np.ndarray or x.dtype != w.dtype:
        return DECLINE
    o, _, kh, kw = w.shape
    oh, ow = map(_out_size, x.shape[2:], w.shape[2:], stride, padding, dilation)
    if not _weight_bound(x, w, groups, oh, ow):
        return DECLINE
    cols = _columns(_padded(x, *padding), kh, kw, stride, dilation, oh, ow)
    weight = np.ascontiguousarray(w).reshape(o, -1)
    out = np.empty((x.shape[0], o, oh * ow), x.dtype)
    if onednn_matmul.product(weight, cols, out=out) is None:  # float32: all images at once
        for image, image_cols in zip(out, cols):  # one BLAS product each, not a broadcast one
            np.matmul(weight, image_cols, out=image)
    if b is not None:
        out += b.reshape(o, 1)
    return out.reshape(x.shape[0], o, oh, ow)


@register("conv2d_reusing_weight", "numpy", dtypes=[np.float32, np.float64], priority=20)
def conv2d_reusing_weight(x, w, b, stride, padding, dilation, groups, weight_version):
    """`conv2d`: nothing prepared from the weight needs keeping, so the version goes unused."""
    return conv2d(x, w, b, stride, padding, dilation, groups)
