"""int8 x int8 -> float32 matrix products on oneDNN, for dynamically quantized Linear layers.

The weight (out, in) is quantized once to int8 and reordered into the layout oneDNN picks
for it (packed, as fbgemm packs PyTorch's); each call quantizes the activations to uint8
with a scale and zero point, and oneDNN's int8 kernel computes
``(x_q - zp) @ w_q.T * (x_scale * w_scale) + bias`` with int32 accumulation.
"""

import ctypes

import numpy as np

from ember.backends.onednn import library
from ember.backends.registry import DECLINE, register

_S32, _S8, _U8, _F32 = 4, 5, 6, 3
_ARG_ATTR_SCALES, _ARG_ATTR_ZERO_POINTS = 4096, 8192
_QUERY_WEIGHTS_MD = 131


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


class PackedLinear:
    """A quantized weight packed for oneDNN, and the primitives for each batch size seen."""

    def __init__(self, weight_q, weight_scale, bias):
        out_features, in_features = weight_q.shape
        self.k, self.n = in_features, out_features
        self.w_scale = np.ascontiguousarray(weight_scale, dtype=np.float32).reshape(-1)
        self.bias = None if bias is None else np.ascontiguousarray(bias, np.float32).reshape(1, -1)
        self.attr = _Attr(per_channel=self.w_scale.size > 1)
        self.w_any = _Desc((self.k, self.n), _S8, tag=library.TAG_ANY)
        self.bias_md = None if bias is None else _Desc((1, self.n), _F32, strides=(self.n, 1))
        self.scale_md = _Desc((1,), _F32, strides=(1,))
        self.w_scale_md = _Desc((self.w_scale.size,), _F32, strides=(1,))
        self.zp_md = _Desc((1,), _S32, strides=(1,))
        self._plans = {}
        plan = self._plan(1)
        plain = _Desc((self.k, self.n), _S8, strides=(1, self.k))  # w_q.T, read in place
        self.packed_md = plan[0].md(_QUERY_WEIGHTS_MD)
        self.packed = np.empty(library._lib.dnnl_memory_desc_get_size(self.packed_md), np.int8)
        library.Reorder(plain.handle, self.packed_md).run(
            np.ascontiguousarray(weight_q), self.packed
        )

    def _plan(self, m):
        if m not in self._plans:
            src = _Desc((m, self.k), _U8, strides=(self.k, 1))
            dst = _Desc((m, self.n), _F32, strides=(self.n, 1))
            bias = self.bias_md.handle if self.bias_md is not None else None
            primitive = library.Primitive(
                lambda out: library._lib.dnnl_matmul_primitive_desc_create(
                    out, library._engine, src.handle, self.w_any.handle, bias, dst.handle,
                    self.attr.handle,
                )
            )  # fmt: skip
            self._plans[m] = _Bound(self, primitive, src, dst) if hasattr(self, "packed") else (
                primitive, src, dst
            )  # fmt: skip
        return self._plans[m]

    def run(self, x_q, x_scale, x_zero_point):
        """float32 (M, out) from uint8 activations (M, in) and their scale and zero point."""
        m = x_q.shape[0]
        plan = self._plan(m)
        if not isinstance(plan, _Bound):  # made before the weights were packed
            plan = self._plans[m] = _Bound(self, *plan)
        return plan.run(np.ascontiguousarray(x_q), x_scale, x_zero_point)


class _Bound:
    """A matmul primitive with its oneDNN memory objects made once: a call only points the
    source and destination at new arrays and writes the activation scale and zero point, so
    the many small products of a recurrent layer do not pay for creating memory each time."""

    def __init__(self, packed, primitive, src, dst):
        lib = library._lib
        self.primitive, self.descs, self.n = primitive, (src, dst), packed.n
        self.x_scale = np.zeros(1, np.float32)
        self.x_zero_point = np.zeros(1, np.int32)
        self._placeholder = np.zeros(1, np.float32)  # memory objects need a pointer at creation
        fixed = [
            (library.ARG_SRC, src.handle, self._placeholder),
            (library.ARG_DST, dst.handle, self._placeholder),
            (library.ARG_WEIGHTS, packed.packed_md, packed.packed),
            (_ARG_ATTR_SCALES | library.ARG_SRC, packed.scale_md.handle, self.x_scale),
            (_ARG_ATTR_SCALES | library.ARG_WEIGHTS, packed.w_scale_md.handle, packed.w_scale),
            (_ARG_ATTR_ZERO_POINTS | library.ARG_SRC, packed.zp_md.handle, self.x_zero_point),
        ]
        if packed.bias is not None:
            fixed.append((library.ARG_BIAS, packed.bias_md.handle, packed.bias))
        self._keep = [packed]  # the arrays the memory objects point at stay alive
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
        self.args = (library._ExecArg * len(fixed))(
            *[library._ExecArg(arg, mem) for (arg, _, _), mem in zip(fixed, self.mems)]
        )

    def run(self, x_q, x_scale, x_zero_point):
        lib = library._lib
        out = np.empty((x_q.shape[0], self.n), np.float32)
        self.x_scale[0], self.x_zero_point[0] = x_scale, x_zero_point
        lib.dnnl_memory_set_data_handle(self.mems[0], ctypes.c_void_p(x_q.ctypes.data))
        lib.dnnl_memory_set_data_handle(self.mems[1], ctypes.c_void_p(out.ctypes.data))
        prim = self.primitive.prim
        library._check(
            lib.dnnl_primitive_execute(prim, library._stream, len(self.mems), self.args), "execute"
        )
        library._check(lib.dnnl_stream_wait(library._stream), "stream_wait")
        return out

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
