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
            self._plans[m] = (primitive, src, dst)
        return self._plans[m]

    def run(self, x_q, x_scale, x_zero_point):
        """float32 (M, out) from uint8 activations (M, in) and their scale and zero point."""
        m = x_q.shape[0]
        primitive, src, dst = self._plan(m)
        out = np.empty((m, self.n), np.float32)
        x_scale = np.array([x_scale], np.float32)
        x_zero_point = np.array([x_zero_point], np.int32)
        args = [
            (library.ARG_SRC, src.handle, np.ascontiguousarray(x_q)),
            (library.ARG_WEIGHTS, self.packed_md, self.packed),
            (library.ARG_DST, dst.handle, out),
            (_ARG_ATTR_SCALES | library.ARG_SRC, self.scale_md.handle, x_scale),
            (_ARG_ATTR_SCALES | library.ARG_WEIGHTS, self.w_scale_md.handle, self.w_scale),
            (_ARG_ATTR_ZERO_POINTS | library.ARG_SRC, self.zp_md.handle, x_zero_point),
        ]
        if self.bias is not None:
            args.append((library.ARG_BIAS, self.bias_md.handle, self.bias))
        primitive.run(args)
        return out


@register("int8_linear_pack", "onednn", dtypes=[np.int8], priority=10)
def pack(weight_q, weight_scale, bias):
    if not library.available():
        return DECLINE
    try:
        return PackedLinear(weight_q, weight_scale, bias)
    except library.Refused:
        return DECLINE
