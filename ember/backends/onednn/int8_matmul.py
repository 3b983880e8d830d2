"""int8 x int8 -> float32 matrix products on oneDNN, for dynamically quantized layers.

The weight (out, in) is quantized once to int8 and reordered into the layout oneDNN picks
for it (packed, as fbgemm packs PyTorch's); each call quantizes the activations to uint8
with a scale and zero point, and oneDNN's int8 kernel computes
``(x_q - zp) @ w_q.T * (x_scale * w_scale) + bias`` with int32 accumulation.

A product of few rows (a recurrent layer's step at a small batch) costs less than waking
OpenMP's threads, so its primitive is made for the calling thread alone; `PackedLinear.bind`
gives such a step its own input and output buffers, so that a call passes no pointers.
"""

import contextlib
import ctypes

import numpy as np

from ember.backends.onednn import library
from ember.backends.registry import DECLINE, register

_S32, _S8, _U8, _F32 = 4, 5, 6, 3
_ARG_ATTR_SCALES, _ARG_ATTR_ZERO_POINTS = 4096, 8192
_QUERY_WEIGHTS_MD = 131
_ONE_THREAD_MACS = 1 << 21
"""Products of fewer multiply-adds than this run on one thread (about 20 µs of work, what
waking a second thread costs)."""


class _Desc:
    """An owned memory descriptor of any data type, from dims and strides (or a format tag)."""

    def __init__(self, dims, data_type, strides=None, tag=None):
        lib = library._lib
        self.handle = ctypes.c_void_p()
        d = library.Dims(*dims)
        if strides is None:
            status = lib.dnnl_memory_desc_create_with_tag(
                ctypes.byref(self.handle), len(dims), d, data_type, tag
            )
        else:
            status = lib.dnnl_memory_desc_create_with_strides(
                ctypes.byref(self.handle), len(dims), d, data_type, library.Dims(*strides)
            )
        library._check(status, "memory_desc_create")

    def __del__(self):
        if library._lib is not None and self.handle:
            library._lib.dnnl_memory_desc_destroy(self.handle)


class _Attr:
    """Primitive attributes: one scale for the activations, per-tensor or per-column scales
    for the weight, one zero point for the activations."""

    def __init__(self, per_channel):
        lib = library._lib
        self.handle = ctypes.c_void_p()
        library._check(lib.dnnl_primitive_attr_create(ctypes.byref(self.handle)), "attr_create")
        library._check(
            lib.dnnl_primitive_attr_set_scales_mask(self.handle, library.ARG_SRC, 0), "scales"
        )
        mask = 2 if per_channel else 0  # per column of the (in, out) weight
        library._check(
            lib.dnnl_primitive_attr_set_scales_mask(self.handle, library.ARG_WEIGHTS, mask),
            "scales",
        )
        library._check(
            lib.dnnl_primitive_attr_set_zero_points_mask(self.handle, library.ARG_SRC, 0),
            "zero_points",
        )

    def __del__(self):
        if library._lib is not None and self.handle:
            library._lib.dnnl_primitive_attr_destroy(self.handle)


class _Plan:
    """The primitive for products of ``m`` rows, its source and destination descriptors, and
    the weights in the layout it reads."""

    __slots__ = ("primitive", "src", "dst", "weights_md", "weights")

    def __init__(self, primitive, src, dst, weights_md, weights):
        self.primitive, self.src, self.dst = primitive, src, dst
        self.weights_md, self.weights = weights_md, weights


class PackedLinear:
    """A quantized weight packed for oneDNN, and the primitives for each batch size seen."""

    def __init__(self, weight_q, weight_scale, bias):
        out_features, in_features = weight_q.shape
        self.k, self.n = in_features, out_features
        self.weight_q = np.ascontiguousarray(weight_q)
        self.w_scale = np.ascontiguousarray(weight_scale, dtype=np.float32).reshape(-1)
        self.bias = None if bias is None else np.ascontiguousarray(bias, np.float32).reshape(1, -1)
        self.attr = _Attr(per_channel=self.w_scale.size > 1)
        self.w_any = _Desc((self.k, self.n), _S8, tag=library.TAG_ANY)
        self.bias_md = None if bias is None else _Desc((1, self.n), _F32, strides=(self.n, 1))
        self.scale_md = _Desc((1,), _F32, strides=(1,))
        self.w_scale_md = _Desc((self.w_scale.size,), _F32, strides=(1,))
        self.zp_md = _Desc((1,), _S32, strides=(1,))
        primitive, src, dst = self._primitive(1)
        self.packed_md = primitive.md(_QUERY_WEIGHTS_MD)
        self.packed = self._reorder(self.packed_md)
        self._plans = {1: _Plan(primitive, src, dst, self.packed_md, self.packed)}
        self._calls = {}

    def _primitive(self, m):
        src = _Desc((m, self.k), _U8, strides=(self.k, 1))
        dst = _Desc((m, self.n), _F32, strides=(self.n, 1))
        bias = self.bias_md.handle if self.bias_md is not None else None
        small = m * self.k * self.n < _ONE_THREAD_MACS
        with library.one_thread() if small else contextlib.nullcontext():
            primitive = library.Primitive(
                lambda out: library._lib.dnnl_matmul_primitive_desc_create(
                    out, library._engine, src.handle, self.w_any.handle, bias, dst.handle,
                    self.attr.handle,
                )
            )  # fmt: skip
        return primitive, src, dst

    def _reorder(self, md):
        """The int8 weight in the layout ``md`` describes."""
        packed = np.empty(library._lib.dnnl_memory_desc_get_size(md), np.int8)
        plain = _Desc((self.k, self.n), _S8, strides=(1, self.k))  # w_q.T, read in place
        library.Reorder(plain.handle, md).run(self.weight_q, packed)
        return packed

    def _plan(self, m):
        plan = self._plans.get(m)
        if plan is None:
            primitive, src, dst = self._primitive(m)
            md = primitive.md(_QUERY_WEIGHTS_MD)
            if library._lib.dnnl_memory_desc_equal(md, self.packed_md):
                plan = _Plan(primitive, src, dst, self.packed_md, self.packed)
            else:  # this row count wants another layout: a copy of the weight in it
                plan = _Plan(primitive, src, dst, md, self._reorder(md))
            self._plans[m] = plan
        return plan

    def run(self, x_q, x_scale, x_zero_point):
        """float32 (M, out) from uint8 activations (M, in) and their scale and zero point."""
        m = x_q.shape[0]
        bound = self._calls.get(m)
        if bound is None:
            bound = self._calls[m] = _Bound(self, self._plan(m))
        out = np.empty((m, self.n), np.float32)
        bound.point(np.ascontiguousarray(x_q), out)
        bound(x_scale, x_zero_point)
        return out

    def bind(self, m):
        """A product of ``m`` rows with buffers of its own: quantize into its ``input``, call
        it with the scale and zero point, and read its ``output`` (overwritten by the next
        call)."""
        return _Bound(self, self._plan(m), np.empty((m, self.k), np.uint8))


class _Bound:
    """A matmul primitive with its oneDNN memory objects made once: a call only writes the
    activation scale and zero point (and, through `point`, new source and destination), so
    the many small products of a recurrent layer do not pay for creating memory each time."""

    def __init__(self, packed, plan, input=None):
        lib = library._lib
        self.n = packed.n
        self.x_scale = np.zeros(1, np.float32)
        self.x_zero_point = np.zeros(1, np.int32)
        self.input = input
        self.output = None if input is None else np.empty((input.shape[0], packed.n), np.float32)
        placeholder = np.zeros(1, np.float32)  # memory objects need a pointer at creation
        fixed = [
            (library.ARG_SRC, plan.src.handle, placeholder if input is None else input),
            (library.ARG_DST, plan.dst.handle, placeholder if input is None else self.output),
            (library.ARG_WEIGHTS, plan.weights_md, plan.weights),
            (_ARG_ATTR_SCALES | library.ARG_SRC, packed.scale_md.handle, self.x_scale),
            (_ARG_ATTR_SCALES | library.ARG_WEIGHTS, packed.w_scale_md.handle, packed.w_scale),
            (_ARG_ATTR_ZERO_POINTS | library.ARG_SRC, packed.zp_md.handle, self.x_zero_point),
        ]
        if packed.bias is not None:
            fixed.append((library.ARG_BIAS, packed.bias_md.handle, packed.bias))
        self._keep = (packed, plan)  # the arrays the memory objects point at stay alive
        self.mems = []
        for _, md, array in fixed:
            mem = ctypes.c_void_p()
            library._check(
                lib.dnnl_memory_create(
                    ctypes.byref(mem), md, library._engine, ctypes.c_void_p(array.ctypes.data)
                ),
                "memory_create",
            )
            self.mems.append(mem)
        args = (library._ExecArg * len(fixed))(
            *[library._ExecArg(arg, mem) for (arg, _, _), mem in zip(fixed, self.mems)]
        )
        self._args = (plan.primitive.prim, library._stream, len(self.mems), args)

    def point(self, x_q, out):
        """Read the next call's activations from ``x_q`` and write its result into ``out``."""
        lib = library._lib
        lib.dnnl_memory_set_data_handle(self.mems[0], ctypes.c_void_p(x_q.ctypes.data))
        lib.dnnl_memory_set_data_handle(self.mems[1], ctypes.c_void_p(out.ctypes.data))

    def __call__(self, x_scale, x_zero_point):
        lib = library._lib
        self.x_scale[0], self.x_zero_point[0] = x_scale, x_zero_point
        library._check(lib.dnnl_primitive_execute(*self._args), "execute")
        library._check(lib.dnnl_stream_wait(library._stream), "stream_wait")
        return self.output

    def __del__(self):
        if library._lib is not None:
            for mem in self.mems:
                library._lib.dnnl_memory_destroy(mem)


@register("int8_linear_pack", "onednn", dtypes=[np.int8], priority=10)
def pack(weight_q, weight_scale, bias):
    if not library.available():
        return DECLINE
    try:
        return PackedLinear(weight_q, weight_scale, bias)
    except library.Refused:
        return DECLINE
