"""float32 2-D convolution kernels on oneDNN: forward, gradient of the input, of the weight.

Activations are described to oneDNN as channels-last (NHWC) arrays and weights in the
library's own blocked layout, reordered from PyTorch's (O, I, kH, kW) on each call (the
weights are small next to the activations). oneDNN's kernels read channels-last input
directly and use every core. The primitives of one geometry are built the first time a
direction is asked for and kept; a geometry or direction oneDNN refuses is remembered and
its calls decline, so the NumPy kernels run them.

Each kernel returns an (N, C, H, W) view of channels-last memory; the op chooses the layout.
"""

import numpy as np

from ember.backends.onednn import library as dnnl
from ember.backends.registry import DECLINE, register

_FORWARD_TRAINING = 64
_CONVOLUTION_DIRECT = 1
_QUERY_WEIGHTS_MD, _QUERY_DIFF_WEIGHTS_MD = 131, 132


def _nhwc(a):
    """(N, C, H, W) array -> C-contiguous (N, H, W, C), copying only when it is not already."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1))


def _nhwc_desc(n, c, h, w):
    """oneDNN dims are always logical (N, C, H, W); the strides say the memory is NHWC."""
    return dnnl.Desc((n, c, h, w), (h * w * c, 1, w * c, c))


def _extent(count, kernel, stride, dilation):
    return (count - 1) * stride + dilation * (kernel - 1) + 1


class _Plan:
    """Memory descriptors of one convolution geometry, and its primitives as they are needed.

    A primitive oneDNN refuses is recorded as None, and calls needing it decline.
    """

    def __init__(self, in_shape, w_shape, stride, padding, dilation, groups, out_hw):
        n, c, h, w = in_shape
        o, cg, kh, kw = w_shape
        oh, ow = out_hw
        self.in_nhwc, self.out_nhwc = (n, h, w, c), (n, oh, ow, o)
        self.src, self.dst = _nhwc_desc(n, c, h, w), _nhwc_desc(n, o, oh, ow)
        self.w_dims = (o, cg, kh, kw) if groups == 1 else (groups, o // groups, cg, kh, kw)
        self.user_w = dnnl.Desc(self.w_dims, tag=dnnl.TAG_ABCD if groups == 1 else dnnl.TAG_ABCDE)
        self.any_w = dnnl.Desc(self.w_dims, tag=dnnl.TAG_ANY)  # each primitive picks its layout
        self.bias = dnnl.Desc((o,), tag=dnnl.TAG_A)
        self.geometry = (
            dnnl.Dims(*stride),
            dnnl.Dims(dilation[0] - 1, dilation[1] - 1),  # oneDNN counts dilation from 0
            dnnl.Dims(*padding),
            dnnl.Dims(
                _extent(oh, kh, stride[0], dilation[0]) - h - padding[0],
                _extent(ow, kw, stride[1], dilation[1]) - w - padding[1],
            ),
        )
        self._built = {}

    def _get(self, direction, build):
        if direction not in self._built:
            try:
                self._built[direction] = build()
            except dnnl.Refused:
                self._built[direction] = None
        return self._built[direction]

    def _forward_primitive(self, with_bias):
        """(primitive, its weights descriptor, reorder into it)."""

        def build():
            bias = self.bias.handle if with_bias else None
            prim = dnnl.convolution(
                "forward", _FORWARD_TRAINING, _CONVOLUTION_DIRECT, self.src.handle,
                self.any_w.handle, bias, self.dst.handle, *self.geometry, None,
            )  # fmt: skip
            md = prim.md(_QUERY_WEIGHTS_MD)
            return prim, md, dnnl.Reorder(self.user_w.handle, md)

        return self._get(("forward", with_bias), build)

    def _hint(self):
        """The forward primitive descriptor oneDNN's backward primitives are created from."""
        found = self._forward_primitive(False)
        if found is None:
            raise dnnl.Refused("no forward primitive")
        return found[0].pd

    def _data_primitive(self):
        def build():
            prim = dnnl.convolution(
                "backward_data", _CONVOLUTION_DIRECT, self.src.handle, self.any_w.handle,
                self.dst.handle, *self.geometry, self._hint(), None,
            )  # fmt: skip
            md = prim.md(_QUERY_WEIGHTS_MD)
            return prim, md, dnnl.Reorder(self.user_w.handle, md)

        return self._get("backward_data", build)

    def _weights_primitive(self, with_bias):
        def build():
            bias = self.bias.handle if with_bias else None
            prim = dnnl.convolution(
                "backward_weights", _CONVOLUTION_DIRECT, self.src.handle, self.any_w.handle,
                bias, self.dst.handle, *self.geometry, self._hint(), None,
            )  # fmt: skip
            md = prim.md(_QUERY_DIFF_WEIGHTS_MD)
            return prim, md, dnnl.Reorder(md, self.user_w.handle)

        return self._get(("backward_weights", with_bias), build)

    @staticmethod
    def _packed(w, reorder, md):
        packed = dnnl.buffer(md)
        reorder.run(np.ascontiguousarray(w), packed)
        return packed

    def forward(self, x_nhwc, w, b):
        found = self._forward_primitive(b is not None)
        if found is None:
            return None
        prim, md, reorder = found
        out = np.empty(self.out_nhwc, np.float32)
        args = [
            (dnnl.ARG_SRC, self.src.handle, x_nhwc),
            (dnnl.ARG_WEIGHTS, md, self._packed(w, reorder, md)),
            (dnnl.ARG_DST, self.dst.handle, out),
        ]
        if b is not None:
            args.append((dnnl.ARG_BIAS, self.bias.handle, np.ascontiguousarray(b)))
        prim.run(args)
        return out

    def backward_data(self, g_nhwc, w):
        found = self._data_primitive()
        if found is None:
            return None
        prim, md, reorder = found
        dx = np.empty(self.in_nhwc, np.float32)
        prim.run(
            [
                (dnnl.ARG_DIFF_DST, self.dst.handle, g_nhwc),
                (dnnl.ARG_WEIGHTS, md, self._packed(w, reorder, md)),
                (dnnl.ARG_DIFF_SRC, self.src.handle, dx),
            ]
        )
        return dx

    def backward_weights(self, x_nhwc, g_nhwc, with_bias):
        """(weight gradient, bias gradient or None), or None where oneDNN refused."""
        found = self._weights_primitive(with_bias)
        if found is None:
            return None
        prim, md, reorder = found
        packed = dnnl.buffer(md)
        args = [
            (dnnl.ARG_SRC, self.src.handle, x_nhwc),
            (dnnl.ARG_DIFF_DST, self.dst.handle, g_nhwc),
            (dnnl.ARG_DIFF_WEIGHTS, md, packed),
        ]
        db = None
        if with_bias:
            db = np.empty(self.out_nhwc[3], np.float32)
            args.append((dnnl.ARG_DIFF_BIAS, self.bias.handle, db))
        prim.run(args)
        dw = np.empty(self.w_dims, np.float32)
        reorder.run(packed, dw)
        return dw, db


_plans = {}


def _plan(in_shape, w_shape, stride, padding, dilation, groups, out_hw):
    """The cached plan of this geometry, or None where oneDNN is missing or refuses it."""
    if not dnnl.available():
        return None
    key = (tuple(in_shape), tuple(w_shape), stride, padding, dilation, groups, tuple(out_hw))
    plan = _plans.get(key, False)
    if plan is False:
        try:
            plan = _Plan(*key)
        except dnnl.Refused:
            plan = None
        _plans[key] = plan
    return plan


def _out_size(size, kernel, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@register("conv2d", "onednn", dtypes=[np.float32], priority=10)
def conv2d(x, w, b, stride, padding, dilation, groups):
    """Forward convolution of NCHW ``x`` with (O, C / groups, kH, kW) ``w`` and bias ``b``."""
    out_hw = tuple(map(_out_size, x.shape[2:], w.shape[2:], stride, padding, dilation))
    plan = _plan(x.shape, w.shape, stride, padding, dilation, groups, out_hw)
    out = None if plan is None else plan.forward(_nhwc(x), w, b)
    return DECLINE if out is None else out.transpose(0, 3, 1, 2)


@register("conv2d_grad_input", "onednn", dtypes=[np.float32], priority=10)
def conv2d_grad_input(g, w, in_hw, stride, padding, dilation, groups):
    """The gradient of a convolution's (N, C, *in_hw) input, from its output's gradient ``g``."""
    in_shape = (g.shape[0], w.shape[1] * groups, *in_hw)
    plan = _plan(in_shape, w.shape, stride, padding, dilation, groups, g.shape[2:])
    dx = None if plan is None else plan.backward_data(_nhwc(g), w)
    return DECLINE if dx is None else dx.transpose(0, 3, 1, 2)


@register("conv2d_grad_weight", "onednn", dtypes=[np.float32], priority=10)
def conv2d_grad_weight(x, g, kernel_hw, stride, padding, dilation, groups, with_bias):
    """(weight gradient, bias gradient or None) of a convolution, from its input ``x`` and
    output gradient ``g``; oneDNN sums the bias gradient in the same pass."""
    w_shape = (g.shape[1], x.shape[1] // groups, *kernel_hw)
    plan = _plan(x.shape, w_shape, stride, padding, dilation, groups, g.shape[2:])
    found = None if plan is None else plan.backward_weights(_nhwc(x), _nhwc(g), with_bias)
    return DECLINE if found is None else (found[0].reshape(w_shape), found[1])
