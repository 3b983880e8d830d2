"""float32 2-D convolutions through oneDNN, the library behind PyTorch's CPU convolutions.

oneDNN's C API is reached with ctypes from the `onednn-cpu-gomp` wheel (installed with ember
on x86-64 Linux). Its kernels read channels-last input directly and use every core, where
the NumPy path copies an im2col matrix on one core before each matrix product. Where the
library is missing, or refuses a configuration, `available()` is false or the plan is None
and the caller uses the NumPy path.

Activations are described to oneDNN as channels-last (NHWC) arrays and weights in the
library's own blocked layout, reordered from PyTorch's (O, I, kH, kW) on each call (the
weights are small next to the activations). Primitive descriptors are built once per
geometry and kept.
"""

import ctypes
import os
import sys

import numpy as np

from ember._ops._geometry import windows_extent

_MAX_NDIMS = 12
_Dims = ctypes.c_int64 * _MAX_NDIMS

_F32 = 3
_TAG_ANY, _TAG_A, _TAG_ABCD, _TAG_ABCDE = 1, 2, 5, 6
_FORWARD_TRAINING = 64
_CONVOLUTION_DIRECT = 1
_ARG_SRC, _ARG_DST, _ARG_WEIGHTS, _ARG_BIAS = 1, 17, 33, 41
_ARG_DIFF_SRC, _ARG_DIFF_DST, _ARG_DIFF_WEIGHTS, _ARG_DIFF_BIAS = 129, 145, 161, 169
_ARG_FROM, _ARG_TO = _ARG_SRC, _ARG_DST  # a reorder's input and output
_QUERY_WEIGHTS_MD, _QUERY_DIFF_WEIGHTS_MD = 131, 132


class _ExecArg(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_int), ("memory", ctypes.c_void_p)]


def _load():
    if os.environ.get("EMBER_ONEDNN", "1") == "0":
        return None
    # NumPy's BLAS has its own thread pool on the same cores. GNU OpenMP's default is to
    # spin between parallel regions, which starves BLAS threads (and is starved by theirs);
    # sleeping instead made a conv-then-matmul step 8x faster on a 2-core machine. Read by
    # libgomp when it loads, so it must be set before the library is opened.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    for name in (os.path.join(sys.prefix, "lib", "libdnnl.so.3"), "libdnnl.so.3"):
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


_lib = _load()
_engine = ctypes.c_void_p()
_stream = ctypes.c_void_p()


def _check(status, what):
    if status != 0:
        raise _Refused(f"oneDNN {what} failed with status {status}")


class _Refused(Exception):
    """oneDNN cannot run this configuration; the NumPy path takes over."""


def _init():
    """Engine and stream; a library that does not answer as expected is not used."""
    global _lib
    if _lib is None:
        return
    try:
        _lib.dnnl_primitive_desc_query_md.restype = ctypes.c_void_p
        _lib.dnnl_memory_desc_get_size.restype = ctypes.c_size_t
        _check(_lib.dnnl_engine_create(ctypes.byref(_engine), 1, 0), "engine_create")
        _check(_lib.dnnl_stream_create(ctypes.byref(_stream), _engine, 1), "stream_create")
    except (_Refused, AttributeError):
        _lib = None


_init()


def _single_thread_in_forked_child():
    """GNU OpenMP's thread pool does not survive fork: a child that entered a parallel region
    with the parent's pool size would wait forever for threads that were not copied. Children
    (DataLoader workers among them) run oneDNN on one thread."""
    set_num_threads(1)


if _lib is not None:
    os.register_at_fork(after_in_child=_single_thread_in_forked_child)


def available():
    return _lib is not None


class _Version(ctypes.Structure):
    _fields_ = [("major", ctypes.c_int), ("minor", ctypes.c_int), ("patch", ctypes.c_int)]


def version():
    """'major.minor.patch' of the loaded library, or None."""
    if _lib is None:
        return None
    _lib.dnnl_version.restype = ctypes.POINTER(_Version)
    v = _lib.dnnl_version().contents
    return f"{v.major}.{v.minor}.{v.patch}"


def set_num_threads(n):
    """oneDNN's kernels run on GNU OpenMP's thread pool; size it like NumPy's."""
    if _lib is None:
        return
    try:
        ctypes.CDLL("libgomp.so.1").omp_set_num_threads(int(n))
    except (OSError, AttributeError):
        pass


class _Desc:
    """An owned oneDNN memory descriptor."""

    def __init__(self, dims, strides=None, tag=None):
        self.handle = ctypes.c_void_p()
        d = _Dims(*dims)
        if strides is not None:
            status = _lib.dnnl_memory_desc_create_with_strides(
                ctypes.byref(self.handle), len(dims), d, _F32, _Dims(*strides)
            )
        else:
            status = _lib.dnnl_memory_desc_create_with_tag(
                ctypes.byref(self.handle), len(dims), d, _F32, tag
            )
        _check(status, "memory_desc_create")

    def __del__(self):
        if _lib is not None and self.handle:
            _lib.dnnl_memory_desc_destroy(self.handle)


class _Primitive:
    """A primitive descriptor and its primitive, owned together."""

    def __init__(self, create_pd):
        self.pd = ctypes.c_void_p()
        self.prim = ctypes.c_void_p()
        _check(create_pd(ctypes.byref(self.pd)), "primitive_desc_create")
        _check(_lib.dnnl_primitive_create(ctypes.byref(self.prim), self.pd), "primitive_create")

    def md(self, query):
        return ctypes.c_void_p(_lib.dnnl_primitive_desc_query_md(self.pd, query, 0))

    def run(self, args):
        """Execute with args: a list of (DNNL_ARG_*, memory descriptor, NumPy array)."""
        mems = []
        try:
            for _, md, array in args:
                mem = ctypes.c_void_p()
                _check(
                    _lib.dnnl_memory_create(
                        ctypes.byref(mem), md, _engine, ctypes.c_void_p(array.ctypes.data)
                    ),
                    "memory_create",
                )
                mems.append(mem)
            packed = (_ExecArg * len(args))(*[_ExecArg(a[0], m) for a, m in zip(args, mems)])
            _check(_lib.dnnl_primitive_execute(self.prim, _stream, len(args), packed), "execute")
            _check(_lib.dnnl_stream_wait(_stream), "stream_wait")
        finally:
            for mem in mems:
                _lib.dnnl_memory_destroy(mem)

    def __del__(self):
        if _lib is not None:
            if self.prim:
                _lib.dnnl_primitive_destroy(self.prim)
            if self.pd:
                _lib.dnnl_primitive_desc_destroy(self.pd)


def _reorder(src_md, dst_md):
    """A copy between two layouts of the same tensor (memory descriptor handles)."""
    return _Primitive(
        lambda out: _lib.dnnl_reorder_primitive_desc_create(
            out, src_md, _engine, dst_md, _engine, None
        )
    )


def _nhwc_dims_strides(n, c, h, w):
    """oneDNN dims are always logical (N, C, H, W); the strides say the memory is NHWC."""
    return (n, c, h, w), (h * w * c, 1, w * c, c)


class Conv2dPlan:
    """Forward, backward-data and backward-weights primitives for one convolution geometry."""

    def __init__(self, in_shape, w_shape, bias, stride, padding, dilation, groups, out_hw):
        n, c, h, w = in_shape
        o, cg, kh, kw = w_shape
        oh, ow = out_hw
        self.out_shape = (n, oh, ow, o)
        self.in_nhwc = (n, h, w, c)
        self.src = _Desc(*_nhwc_dims_strides(n, c, h, w))
        self.dst = _Desc(*_nhwc_dims_strides(n, o, oh, ow))
        self.w_dims = (o, cg, kh, kw) if groups == 1 else (groups, o // groups, cg, kh, kw)
        self.user_w = _Desc(self.w_dims, tag=_TAG_ABCD if groups == 1 else _TAG_ABCDE)
        self.bias = _Desc((o,), tag=_TAG_A) if bias else None
        any_w = _Desc(self.w_dims, tag=_TAG_ANY)  # let each primitive pick its weight layout
        src, dst, bias_md = self.src.handle, self.dst.handle, self.bias and self.bias.handle
        geometry = (
            _Dims(*stride),
            _Dims(dilation[0] - 1, dilation[1] - 1),  # oneDNN counts dilation from 0
            _Dims(*padding),
            _Dims(
                windows_extent(oh, kh, stride[0], dilation[0]) - h - padding[0],
                windows_extent(ow, kw, stride[1], dilation[1]) - w - padding[1],
            ),
        )
        algo = _CONVOLUTION_DIRECT
        self.fwd = _Primitive(
            lambda out: _lib.dnnl_convolution_forward_primitive_desc_create(
                out, _engine, _FORWARD_TRAINING, algo, src, any_w.handle, bias_md, dst,
                *geometry, None,
            )
        )  # fmt: skip
        self.bwd_data = _Primitive(
            lambda out: _lib.dnnl_convolution_backward_data_primitive_desc_create(
                out, _engine, algo, src, any_w.handle, dst, *geometry, self.fwd.pd, None
            )
        )
        self.bwd_weights = _Primitive(
            lambda out: _lib.dnnl_convolution_backward_weights_primitive_desc_create(
                out, _engine, algo, src, any_w.handle, bias_md, dst, *geometry, self.fwd.pd,
                None,
            )
        )  # fmt: skip
        self.fwd_w = self.fwd.md(_QUERY_WEIGHTS_MD)
        self.data_w = self.bwd_data.md(_QUERY_WEIGHTS_MD)
        self.diff_w = self.bwd_weights.md(_QUERY_DIFF_WEIGHTS_MD)
        self.to_fwd_w = _reorder(self.user_w.handle, self.fwd_w)
        self.to_data_w = _reorder(self.user_w.handle, self.data_w)
        self.from_diff_w = _reorder(self.diff_w, self.user_w.handle)

    @staticmethod
    def _buffer(md):
        """A float32 array as large as the memory that descriptor describes."""
        return np.empty(_lib.dnnl_memory_desc_get_size(md) // 4, np.float32)

    def _packed_weights(self, w, reorder, md):
        packed = self._buffer(md)
        reorder.run([(_ARG_FROM, self.user_w.handle, w), (_ARG_TO, md, packed)])
        return packed

    def forward(self, x_nhwc, w, b):
        out = np.empty(self.out_shape, np.float32)
        args = [
            (_ARG_SRC, self.src.handle, x_nhwc),
            (_ARG_WEIGHTS, self.fwd_w, self._packed_weights(w, self.to_fwd_w, self.fwd_w)),
            (_ARG_DST, self.dst.handle, out),
        ]
        if b is not None:
            args.append((_ARG_BIAS, self.bias.handle, b))
        self.fwd.run(args)
        return out

    def backward_data(self, g_nhwc, w):
        dx = np.empty(self.in_nhwc, np.float32)
        self.bwd_data.run(
            [
                (_ARG_DIFF_DST, self.dst.handle, g_nhwc),
                (_ARG_WEIGHTS, self.data_w, self._packed_weights(w, self.to_data_w, self.data_w)),
                (_ARG_DIFF_SRC, self.src.handle, dx),
            ]
        )
        return dx

    def backward_weights(self, x_nhwc, g_nhwc, need_bias):
        packed = self._buffer(self.diff_w)
        args = [
            (_ARG_SRC, self.src.handle, x_nhwc),
            (_ARG_DIFF_DST, self.dst.handle, g_nhwc),
            (_ARG_DIFF_WEIGHTS, self.diff_w, packed),
        ]
        db = None
        if need_bias and self.bias is not None:
            db = np.empty(self.out_shape[3], np.float32)
            args.append((_ARG_DIFF_BIAS, self.bias.handle, db))
        self.bwd_weights.run(args)
        dw = np.empty(self.w_dims, np.float32)
        self.from_diff_w.run([(_ARG_FROM, self.diff_w, packed), (_ARG_TO, self.user_w.handle, dw)])
        return dw, db


_plans = {}


def conv2d_plan(in_shape, w_shape, bias, stride, padding, dilation, groups, out_hw):
    """The cached plan for this geometry, or None where oneDNN is missing or declines it."""
    if _lib is None:
        return None
    key = (in_shape, w_shape, bias, stride, padding, dilation, groups)
    plan = _plans.get(key, False)
    if plan is False:
        try:
            plan = Conv2dPlan(in_shape, w_shape, bias, stride, padding, dilation, groups, out_hw)
        except _Refused:
            plan = None
        _plans[key] = plan
    return plan
