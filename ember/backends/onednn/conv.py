"""float32 2-D convolution kernels on oneDNN: forward, gradient of the input, of the weight,
and both gradients in one call (the output gradient reordered once for the two primitives).

Each primitive is created with the layouts of its activations and weights left to oneDNN
(``any``): it picks its fastest, usually channels blocked by 16, as PyTorch's CPU convolutions
run. Forward convolutions of channels-last inputs instead read and write channels-last
activations. Arrays are handed
to oneDNN as they lie in memory, described by their own strides (NCHW, channels-last or
another view), so NumPy copies nothing; where the primitive's layout differs, a oneDNN reorder
converts into a scratch buffer. Results are reordered into a new array that is contiguous, or
channels-last where the activation argument is channels-last, the layouts PyTorch gives. The
primitives of one geometry, and the reorders of the layouts met, are built the first time
they are needed and kept; a geometry or direction oneDNN refuses is remembered and its calls
decline, so the NumPy kernels run them.

A weight that comes with its version (`conv2d_reusing_weight`: inference, frozen weights) is
reordered once per version and layout, and the reordered copy kept while the weight's array
lives. Each primitive keeps its oneDNN memory objects and points them at each call's arrays,
and small problems run on the calling thread alone: waking OpenMP's sleeping threads costs
more than their share of the work.
"""

import contextlib
import functools
import threading
import weakref

import numpy as np

from ember.backends.onednn import library as dnnl
from ember.backends.registry import DECLINE, register

_FORWARD_TRAINING = 64
_CONVOLUTION_DIRECT = 1
_ONE_THREAD_MACS = 1 << 23
"""Convolutions of fewer multiply-adds than this run on the calling thread alone."""
_ONE_THREAD_ELEMENTS = 1 << 17
"""Reorders of fewer elements than this run on the calling thread alone."""


def _extent(count, kernel, stride, dilation):
    return (count - 1) * stride + dilation * (kernel - 1) + 1


def _channels_last(a):
    """Whether a 4-D array views (N, H, W, C) memory (and is not also plain NCHW)."""
    return not a.flags.c_contiguous and a.transpose(0, 2, 3, 1).flags.c_contiguous


def _channels_last_desc(shape):
    """The descriptor of (N, C, H, W) memory laid out as (N, H, W, C)."""
    n, c, h, w = shape
    return dnnl.Desc(shape, strides=(h * w * c, 1, w * c, c))


def _empty_like_layout(shape, channels_last):
    """A new float32 (N, C, H, W) array, contiguous or viewing channels-last memory."""
    if not channels_last:
        return np.empty(shape, np.float32)
    n, c, h, w = shape
    return np.empty((n, h, w, c), np.float32).transpose(0, 3, 1, 2)


def _threads_for(small):
    """Primitives created in this context run on the calling thread alone where ``small``."""
    return dnnl.one_thread() if small else contextlib.nullcontext()


def _owner(array):
    """The array that owns ``array``'s memory (itself where it is not a view)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array


class _PackedWeights:
    """Weights reordered into primitives' layouts, kept while the array each was read from
    lives, and reused while the weight's version is the one it was reordered at. Primitives
    that want the same layout (those of one layer at several batch sizes) share one copy.

    A version is (counter, count): the weight tensor's version counter (a one-item list that
    every in-place write to the tensor or its views increments) and its count at the call.
    """

    def __init__(self):
        self._entries = {}

    def get(self, array, version, bound, pack):
        """``pack()``, ``array`` reordered into ``bound``'s weight layout, or the result of an
        earlier call for the same array at the same version in the same layout."""
        counter, count = version
        owner = _owner(array)
        key = (id(owner), array.ctypes.data, array.shape, array.strides)
        md = bound.mds[dnnl.ARG_WEIGHTS]
        found = self._entries.get(key)
        if found is None or found[0]() is not owner or found[1] is not counter or found[2] != count:
            entries = self._entries
            ref = weakref.ref(owner, lambda _, key=key: entries.pop(key, None))
            found = entries[key] = (ref, counter, count, [])
        layouts = found[3]
        for other, packed in layouts:
            if other is bound or dnnl.same_layout(other.mds[dnnl.ARG_WEIGHTS], md):
                return packed
        packed = pack()
        packed.flags.writeable = False
        layouts.append((bound, packed))
        return packed


_packed_weights = _PackedWeights()


class _Bound:
    """A primitive, the memory descriptor it chose for each argument, the reorders between
    those and the layouts of the arrays it has been given (built once per layout)."""

    def __init__(self, primitive, queries):
        self.primitive = primitive
        self.mds = {arg: primitive.md(query) for arg, query in queries.items()}
        self._links = {}
        self._runners = {}
        self._lock = threading.Lock()

    def _link(self, arg, array, inbound):
        """(descriptor of ``array``, reorder to or from the primitive's layout or None)."""
        key = (arg, array.shape, array.strides)
        found = self._links.get(key)
        if found is None:
            user = dnnl.Desc.of(array)
            md = self.mds[arg]
            runner = None
            if not dnnl.same_layout(user.handle, md):
                src, dst = (user.handle, md) if inbound else (md, user.handle)
                runner = dnnl.Runner(
                    dnnl.Reorder(src, dst).primitive,
                    ((dnnl.ARG_SRC, src), (dnnl.ARG_DST, dst)),
                    alone=array.size < _ONE_THREAD_ELEMENTS,
                )
            found = (user, runner)
            with self._lock:
                self._links[key] = found
        return found

    def packed(self, arg, array, version=None):
        """``array`` in the primitive's layout for input ``arg``: as it is where it already
        is, else reordered into a new buffer, or with ``version`` into one kept for reuse
        (see `_PackedWeights`)."""
        source = array if dnnl.describable(array) else np.ascontiguousarray(array)
        _, reorder = self._link(arg, source, True)
        if reorder is None:
            return source
        if version is None:
            return self._reordered(reorder, arg, source)
        pack = functools.partial(self._reordered, reorder, arg, source)
        return _packed_weights.get(array, version, self, pack)

    def _reordered(self, reorder, arg, array):
        packed = dnnl.buffer(self.mds[arg])
        reorder.run(array, packed)
        return packed

    def _runner(self, args):
        """The primitive bound to ``args``, (DNNL_ARG_*, descriptor handle) pairs."""
        key = tuple(arg for arg, _ in args)
        runner = self._runners.get(key)
        if runner is None:
            runner = dnnl.Runner(self.primitive, args)
            with self._lock:
                self._runners[key] = runner
        return runner

    def run(self, inputs, outputs, extra=()):
        """Execute on ``inputs`` ({DNNL_ARG_*: array from `packed`}) and into ``outputs``
        ({DNNL_ARG_*: array of any layout}); ``extra`` are (arg, descriptor handle, array)
        triples passed as they are (the bias)."""
        args = [(arg, md) for arg, md, _ in extra]
        arrays = [array for _, _, array in extra]
        for arg, array in inputs.items():
            args.append((arg, self.mds[arg]))
            arrays.append(array)
        after = []
        for arg, array in outputs.items():
            _, reorder = self._link(arg, array, False)
            if reorder is not None:
                packed = dnnl.buffer(self.mds[arg])
                after.append((reorder, packed, array))
                array = packed
            args.append((arg, self.mds[arg]))
            arrays.append(array)
        self._runner(args).run(*arrays)
        for reorder, packed, array in after:
            reorder.run(packed, array)


_FORWARD_ARGS = {
    dnnl.ARG_SRC: dnnl.QUERY_SRC_MD,
    dnnl.ARG_WEIGHTS: dnnl.QUERY_WEIGHTS_MD,
    dnnl.ARG_DST: dnnl.QUERY_DST_MD,
}
"""A forward primitive's arguments and the queries of the descriptors it chose for them."""


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
        self.src_nhwc = _channels_last_desc(self.in_shape)
        self.dst_nhwc = _channels_last_desc(self.out_shape)
        self.small = n * o * oh * ow * cg * kh * kw < _ONE_THREAD_MACS
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

    def _forward_primitive(self, src, dst, with_bias):
        """The forward primitive between activations of descriptors ``src`` and ``dst``."""
        bias = self.bias.handle if with_bias else None
        with _threads_for(self.small):
            return dnnl.convolution(
                "forward", _FORWARD_TRAINING, _CONVOLUTION_DIRECT, src.handle, self.weights.handle,
                bias, dst.handle, *self.geometry, None,
            )  # fmt: skip

    def _forward(self, with_bias):
        def build():
            return _Bound(self._forward_primitive(self.src, self.dst, with_bias), _FORWARD_ARGS)

        return self._get(("forward", with_bias), build)

    def _channels_last_forward(self, with_bias):
        """The forward primitive on channels-last activations, or None where oneDNN has only
        reference code for it."""

        def build():
            prim = self._forward_primitive(self.src_nhwc, self.dst_nhwc, with_bias)
            return None if prim.scalar_code() else _Bound(prim, _FORWARD_ARGS)

        return self._get(("channels_last_forward", with_bias), build)

    def _hint(self):
        """The forward primitive descriptor oneDNN's backward primitives are created from."""
        found = self._forward(False)
        if found is None:
            raise dnnl.Refused("no forward primitive")
        return found.primitive.pd

    def _backward_data(self):
        def build():
            with _threads_for(self.small):
                prim = dnnl.convolution(
                    "backward_data", _CONVOLUTION_DIRECT, self.src.handle,
                    self.weights.handle, self.dst.handle, *self.geometry, self._hint(), None,
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
            with _threads_for(self.small):
                prim = dnnl.convolution(
                    "backward_weights", _CONVOLUTION_DIRECT, self.src.handle,
                    self.weights.handle, bias, self.dst.handle, *self.geometry, self._hint(), None,
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

    def forward(self, x, w, b, weight_version=None):
        """The output, or None where oneDNN refused; with ``weight_version`` the weight is
        reordered once per version (see `_PackedWeights`). Channels-last inputs (which then need
        no reorder) run on the channels-last primitive."""
        bound = None
        if _channels_last(x):
            bound = self._channels_last_forward(b is not None)
        if bound is None:
            bound = self._forward(b is not None)
        if bound is None:
            return None
        out = _empty_like_layout(self.out_shape, _channels_last(x))
        extra = ()
        if b is not None:
            extra = ((dnnl.ARG_BIAS, self.bias.handle, np.ascontiguousarray(b)),)
        inputs = {
            dnnl.ARG_SRC: bound.packed(dnnl.ARG_SRC, x),
            dnnl.ARG_WEIGHTS: bound.packed(dnnl.ARG_WEIGHTS, self._user_weights(w), weight_version),
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


@register("conv2d_reusing_weight", "onednn", dtypes=[np.float32], priority=10)
def conv2d_reusing_weight(x, w, b, stride, padding, dilation, groups, weight_version):
    """`conv2d`, reordering ``w`` once per ``weight_version`` (the weight tensor's version
    counter and its count now) rather than on every call."""
    out_hw = tuple(map(_out_size, x.shape[2:], w.shape[2:], stride, padding, dilation))
    plan = _plan(x.shape, w.shape, stride, padding, dilation, groups, out_hw)
    out = None if plan is None else plan.forward(x, w, b, weight_version)
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
