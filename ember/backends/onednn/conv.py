"""float32 2-D convolution kernels on oneDNN: forward, gradient of the input, of the weight,
and both gradients in one call (the output gradient reordered once for the two primitives).

Each primitive is created with the layouts of its activations and weights left to oneDNN
(``any``): it picks its fastest, usually channels blocked by 16, as PyTorch's CPU convolutions
run. Arrays are handed to oneDNN as they lie in memory, described by their own strides (NCHW,
channels-last or another view), so NumPy copies nothing; where the primitive's layout
differs, a oneDNN reorder (on every core) converts into a scratch buffer. Results are
reordered into a new array that is contiguous, or channels-last where the activation argument
is channels-last, the layouts PyTorch gives. The primitives of one geometry, and the reorders
of the layouts met, are built the first time they are needed and kept; a geometry or direction
oneDNN refuses is remembered and its calls decline, so the NumPy kernels run them.
"""

import threading

import numpy as np

from ember.backends.onednn import library as dnnl
from ember.backends.registry import DECLINE, register

_FORWARD_TRAINING = 64
_CONVOLUTION_DIRECT = 1


def _extent(count, kernel, stride, dilation):
    return (count - 1) * stride + dilation * (kernel - 1) + 1


def _channels_last(a):
    """Whether a 4-D array views (N, H, W, C) memory (and is not also plain NCHW)."""
    return not a.flags.c_contiguous and a.transpose(0, 2, 3, 1).flags.c_contiguous


def _empty_like_layout(shape, channels_last):
    """A new float32 (N, C, H, W) array, contiguous or viewing channels-last memory."""
    if not channels_last:
        return np.empty(shape, np.float32)
    n, c, h, w = shape
    return np.empty((n, h, w, c), np.float32).transpose(0, 3, 1, 2)


class _Bound:
    """A primitive, the memory descriptor it chose for each argument, and the reorders between
    those and the layouts of the arrays it has been given (built once per layout)."""

    def __init__(self, primitive, queries):
        self.primitive = primitive
        self.mds = {arg: primitive.md(query) for arg, query in queries.items()}
        self._links = {}
        self._lock = threading.Lock()

    def _link(self, arg, array, inbound):
        """(descriptor of ``array``, reorder to or from the primitive's layout or None)."""
        key = (arg, array.shape, array.strides)
        found = self._links.get(key)
        if found is None:
            user = dnnl.Desc.of(array)
            md = self.mds[arg]
            reorder = None
            if not dnnl.same_layout(user.handle, md):
                reorder = (
                    dnnl.Reorder(user.handle, md) if inbound else dnnl.Reorder(md, user.handle)
                )
            found = (user, reorder)
            with self._lock:
                self._links[key] = found
        return found

    def packed(self, arg, array):
        """``array`` in the primitive's layout for input ``arg``: as it is where it already
        is, else reordered into a new buffer."""
        if not dnnl.describable(array):
            array = np.ascontiguousarray(array)
        _, reorder = self._link(arg, array, True)
        if reorder is None:
            return array
        packed = dnnl.buffer(self.mds[arg])
        reorder.run(array, packed)
        return packed

    def run(self, inputs, outputs, extra=()):
        """Execute on ``inputs`` ({DNNL_ARG_*: array from `packed`}) and into ``outputs``
        ({DNNL_ARG_*: array of any layout}); ``extra`` are (arg, descriptor handle, array)
        triples passed as they are (the bias)."""
        args = list(extra)
        args += [(arg, self.mds[arg], array) for arg, array in inputs.items()]
        after = []
        for arg, array in outputs.items():
            _, reorder = self._link(arg, array, False)
            if reorder is not None:
                packed = dnnl.buffer(self.mds[arg])
                after.append((reorder, packed, array))
                array = packed
            args.append((arg, self.mds[arg], array))
        self.primitive.run(args)
        for reorder, packed, array in after:
            reorder.run(packed, array)


class _Plan:
    """The primitives of one convolution geometry, built as they are needed.

    A primitive oneDNN refuses is recorded as None, and calls needing it decline.
    """

    def __init__(self, in_shape, w_shape, stride, padding, dilation, groups, out_hw):
        n, c, h, w = in_shape
        o, cg, kh, kw = w_shape
        oh, ow = out_hw
        self.in_shape, self.out_shape, self.w_shape = (n, c, h, w), (n, o, oh, ow), w_shape
        self.src = dnnl.Desc(self.in_shape, tag=dnnl.TAG_ANY)
        self.dst = dnnl.Desc(self.out_shape, tag=dnnl.TAG_ANY)
        self.w_dims = (o, cg, kh, kw) if groups == 1 else (groups, o // groups, cg, kh, kw)
        self.weights = dnnl.Desc(self.w_dims, tag=dnnl.TAG_ANY)
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

    def _forward(self, with_bias):
        def build():
            bias = self.bias.handle if with_bias else None
            prim = dnnl.convolution(
                "forward", _FORWARD_TRAINING, _CONVOLUTION_DIRECT, self.src.handle,
                self.weights.handle, bias, self.dst.handle, *self.geometry, None,
            )  # fmt: skip
            return _Bound(
                prim,
                {
                    dnnl.ARG_SRC: dnnl.QUERY_SRC_MD,
                    dnnl.ARG_WEIGHTS: dnnl.QUERY_WEIGHTS_MD,
                    dnnl.ARG_DST: dnnl.QUERY_DST_MD,
                },
            )

        return self._get(("forward", with_bias), build)

    def _hint(self):
        """The forward primitive descriptor oneDNN's backward primitives are created from."""
        found = self._forward(False)
        if found is None:
            raise dnnl.Refused("no forward primitive")
        return found.primitive.pd

    def _backward_data(self):
        def build():
            prim = dnnl.convolution(
                "backward_data", _CONVOLUTION_DIRECT, self.src.handle, self.weights.handle,
                self.dst.handle, *self.geometry, self._hint(), None,
            )  # fmt: skip
            return _Bound(
                prim,
                {
                    dnnl.ARG_DIFF_SRC: dnnl.QUERY_DIFF_SRC_MD,
                    dnnl.ARG_WEIGHTS: dnnl.QUERY_WEIGHTS_MD,
                    dnnl.ARG_DIFF_DST: dnnl.QUERY_DIFF_DST_MD,
                },
            )

        return self._get("backward_data", build)

    def _backward_weights(self, with_bias):
        def build():
            bias = self.bias.handle if with_bias else None
            prim = dnnl.convolution(
                "backward_weights", _CONVOLUTION_DIRECT, self.src.handle, self.weights.handle,
                bias, self.dst.handle, *self.geometry, self._hint(), None,
            )  # fmt: skip
            return _Bound(
                prim,
                {
                    dnnl.ARG_SRC: dnnl.QUERY_SRC_MD,
                    dnnl.ARG_DIFF_WEIGHTS: dnnl.QUERY_DIFF_WEIGHTS_MD,
                    dnnl.ARG_DIFF_DST: dnnl.QUERY_DIFF_DST_MD,
                },
            )

        return self._get(("backward_weights", with_bias), build)

    def _user_weights(self, w):
        return w.reshape(self.w_dims)

    def forward(self, x, w, b):
        bound = self._forward(b is not None)
        if bound is None:
            return None
        out = _empty_like_layout(self.out_shape, _channels_last(x))
        extra = ()
        if b is not None:
            extra = ((dnnl.ARG_BIAS, self.bias.handle, np.ascontiguousarray(b)),)
        inputs = {
            dnnl.ARG_SRC: bound.packed(dnnl.ARG_SRC, x),
            dnnl.ARG_WEIGHTS: bound.packed(dnnl.ARG_WEIGHTS, self._user_weights(w)),
        }
        bound.run(inputs, {dnnl.ARG_DST: out}, extra)
        return out

    def backward_data(self, g, w, packed_g=None):
        """The input gradient, or None where oneDNN refused; ``packed_g``: ``g`` already in
        the primitive's layout."""
        bound = self._backward_data()
        if bound is None:
            return None
        dx = _empty_like_layout(self.in_shape, _channels_last(g))
        inputs = {
            dnnl.ARG_DIFF_DST: bound.packed(dnnl.ARG_DIFF_DST, g) if packed_g is None else packed_g,
            dnnl.ARG_WEIGHTS: bound.packed(dnnl.ARG_WEIGHTS, self._user_weights(w)),
        }
        bound.run(inputs, {dnnl.ARG_DIFF_SRC: dx})
        return dx

    def backward_weights(self, x, g, with_bias, packed_g=None):
        """(weight gradient, bias gradient or None), or None where oneDNN refused."""
        bound = self._backward_weights(with_bias)
        if bound is None:
            return None
        dw = np.empty(self.w_shape, np.float32)
        extra = ()
        db = None
        if with_bias:
            db = np.empty(self.out_shape[1], np.float32)
            extra = ((dnnl.ARG_DIFF_BIAS, self.bias.handle, db),)
        inputs = {
            dnnl.ARG_SRC: bound.packed(dnnl.ARG_SRC, x),
            dnnl.ARG_DIFF_DST: bound.packed(dnnl.ARG_DIFF_DST, g) if packed_g is None else packed_g,
        }
        bound.run(inputs, {dnnl.ARG_DIFF_WEIGHTS: self._user_weights(dw)}, extra)
        return dw, db

    def backward(self, x, g, w, with_bias):
        """(input gradient, weight gradient, bias gradient or None), the output gradient
        reordered once for both primitives where they read it in the same layout."""
        data, weights = self._backward_data(), self._backward_weights(with_bias)
        if data is None or weights is None:
            return None
        packed_g = data.packed(dnnl.ARG_DIFF_DST, g)
        dx = self.backward_data(g, w, packed_g)
        if not dnnl.same_layout(data.mds[dnnl.ARG_DIFF_DST], weights.mds[dnnl.ARG_DIFF_DST]):
            packed_g = None
        return (dx, *self.backward_weights(x, g, with_bias, packed_g))


_plans = {}


def _plan(in_shape, w_shape, stride, padding, dilation, groups, out_hw):
    """The cached plan of this geometry, or None where oneDNN is missing or refuses it."""
    if not dnnl.available() or 0 in in_shape or 0 in w_shape:
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
    """Forward convolution of NCHW ``x`` with (O, C / groups, kH, kW) ``w`` and bias ``b``;
    the result is channels-last where ``x`` is, else contiguous."""
    out_hw = tuple(map(_out_size, x.shape[2:], w.shape[2:], stride, padding, dilation))
    plan = _plan(x.shape, w.shape, stride, padding, dilation, groups, out_hw)
    out = None if plan is None else plan.forward(x, w, b)
    return DECLINE if out is None else out


@register("conv2d_grad_input", "onednn", dtypes=[np.float32], priority=10)
def conv2d_grad_input(g, w, in_hw, stride, padding, dilation, groups):
    """The gradient of a convolution's (N, C, *in_hw) input, from its output's gradient ``g``;
    channels-last where ``g`` is, else contiguous."""
    in_shape = (g.shape[0], w.shape[1] * groups, *in_hw)
    plan = _plan(in_shape, w.shape, stride, padding, dilation, groups, g.shape[2:])
    dx = None if plan is None else plan.backward_data(g, w)
    return DECLINE if dx is None else dx


@register("conv2d_grad_weight", "onednn", dtypes=[np.float32], priority=10)
def conv2d_grad_weight(x, g, kernel_hw, stride, padding, dilation, groups, with_bias):
    """(weight gradient, bias gradient or None) of a convolution, from its input ``x`` and
    output gradient ``g``; oneDNN sums the bias gradient in the same pass."""
    w_shape = (g.shape[1], x.shape[1] // groups, *kernel_hw)
    plan = _plan(x.shape, w_shape, stride, padding, dilation, groups, g.shape[2:])
    found = None if plan is None else plan.backward_weights(x, g, with_bias)
    return DECLINE if found is None else found


@register("conv2d_backward", "onednn", dtypes=[np.float32], priority=10)
def conv2d_backward(x, g, w, stride, padding, dilation, groups, with_bias):
    """(input gradient, weight gradient, bias gradient or None) of a convolution at once."""
    plan = _plan(x.shape, w.shape, stride, padding, dilation, groups, g.shape[2:])
    found = None if plan is None else plan.backward(x, g, w, with_bias)
    return DECLINE if found is None else found
