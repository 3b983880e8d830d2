"""The int8 matrix product of dynamically quantized layers where oneDNN is missing.

Integer products are accumulated exactly (in float64, which holds every int32 sum of these
sizes), so the result equals the int8 kernel's up to float32 rounding; it is not faster than
float32 matrix products, only correct.
"""

import numpy as np

from ember.backends.registry import register


class PackedLinear:
    def __init__(self, weight_q, weight_scale, bias):
        self.weight_t = np.ascontiguousarray(weight_q.T, dtype=np.float64)
        self.w_scale = np.asarray(weight_scale, np.float64).reshape(-1)
        self.bias = None if bias is None else np.asarray(bias, np.float32)

    def run(self, x_q, x_scale, x_zero_point):
        acc = (x_q.astype(np.float64) - x_zero_point) @ self.weight_t
        out = (acc * (x_scale * self.w_scale)).astype(np.float32)
        return out if self.bias is None else out + self.bias

    def bind(self, m):
        """A product of ``m`` rows reading its activations from its own ``input`` buffer."""
        return _Bound(self, np.empty((m, self.weight_t.shape[0]), np.uint8))


class _Bound:
    def __init__(self, packed, input):
        self.packed, self.input = packed, input

    def __call__(self, x_scale, x_zero_point):
        return self.packed.run(self.input, x_scale, x_zero_point)


@register("int8_linear_pack", "numpy", dtypes=[np.int8])
def pack(weight_q, weight_scale, bias):
    return PackedLinear(weight_q, weight_scale, bias)
