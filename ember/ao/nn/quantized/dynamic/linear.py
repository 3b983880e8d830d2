"""The dynamically quantized Linear layer: int8 weights, activations quantized per call.

Made from a float ``nn.Linear`` by ``quantize_dynamic`` (or `Linear.from_float`): the weight
is quantized to int8 once (per tensor by default, per output channel with the per-channel
qconfig) and packed for the int8 kernel; each forward quantizes its input to uint8 over the
input's own range and returns float32. It is an inference layer: nothing is trained through it.
As in PyTorch, the weight and bias live in the ``_packed_params`` child.
"""

import numpy as np

from ember import _qscheme, nn
from ember._dtype import float32, qint8
from ember._ops.creation import from_numpy, tensor, zeros
from ember.ao.nn.quantized.dynamic.packed_params import (
    LinearPackedParams,
    hidden_repr,
    record_version,
)
from ember.ao.quantization import _qparams
from ember.ao.quantization._qtensor import QuantizedTensor


class Linear(nn.Module):
    _FLOAT_MODULE = nn.Linear
    _version = 4

    def __init__(self, in_features, out_features, bias_=True, dtype=qint8):
        super().__init__()
        if dtype != qint8:
            raise NotImplementedError(
                f"dynamic quantized Linear supports dtype ember.qint8, got {dtype}"
            )
        self.in_features, self.out_features = in_features, out_features
        # the output scale and zero point of static quantized Linear, unused by the dynamic
        # layer but kept, as PyTorch keeps them
        self.scale, self.zero_point = 1.0, 0
        weight = QuantizedTensor(
            np.zeros((out_features, in_features), np.int8), qint8, _qscheme.per_tensor_affine,
            1.0, 0,
        )  # fmt: skip
        self._packed_params = LinearPackedParams(dtype)
        self.set_weight_bias(weight, zeros(out_features, dtype=float32) if bias_ else None)

    def set_weight_bias(self, weight, bias):
        """Store a quantized weight (a QuantizedTensor of qint8) and a float bias, and pack them."""
        shape = (self.out_features, self.in_features)
        if getattr(weight, "shape", None) != shape:
            raise RuntimeError(
                f"set_weight_bias: the weight of DynamicQuantizedLinear must have shape {shape}, "
                f"got {getattr(weight, 'shape', type(weight).__name__)}"
            )
        self._packed_params.set_weight_bias(weight, bias)

    def _weight_bias(self):
        return self._packed_params._weight_bias()

    def weight(self):
        return self._weight_bias()[0]

    def bias(self):
        return self._weight_bias()[1]

    @classmethod
    def from_float(cls, mod, use_precomputed_fake_quant=False):
        if not isinstance(mod, nn.Linear):
            raise TypeError(
                f"{cls.__name__}.from_float: expected an nn.Linear, got {type(mod).__name__}"
            )
        qconfig = getattr(mod, "qconfig", None)
        per_channel = qconfig is not None and qconfig.per_channel
        weight = mod.weight.detach().numpy().astype(np.float32)
        scales, values = _qparams.weight_qparams(weight, per_channel)
        if per_channel:
            zero = np.zeros(len(scales), np.int64)
            q = QuantizedTensor(values, qint8, _qscheme.per_channel_affine, scales, zero, axis=0)
        else:
            q = QuantizedTensor(values, qint8, _qscheme.per_tensor_affine, float(scales), 0)
        out = cls(mod.in_features, mod.out_features, mod.bias is not None)
        out.set_weight_bias(q, None if mod.bias is None else mod.bias.detach().clone())
        return out

    def forward(self, x):
        if x.shape[-1] != self.in_features:
            raise RuntimeError(
                f"DynamicQuantizedLinear: input of shape {tuple(x.shape)} does not match "
                f"in_features={self.in_features}"
            )
        a = np.ascontiguousarray(x.detach().numpy(), dtype=np.float32).reshape(-1, self.in_features)
        q, scale, zero_point = _qparams.quantize_activations(a)
        out = self._packed_params.kernel.run(q, scale, zero_point)
        return from_numpy(out.reshape(*x.shape[:-1], self.out_features))

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        record_version(self, destination, prefix)
        destination[prefix + "scale"] = tensor(self.scale)
        destination[prefix + "zero_point"] = tensor(self.zero_point)

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ):
        for name, kind in (("scale", float), ("zero_point", int)):
            key = prefix + name
            if key in state_dict:
                setattr(self, name, kind(state_dict[key].item()))
            elif strict:
                missing_keys.append(key)
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, False, missing_keys, unexpected_keys, error_msgs
        )

    def _get_name(self):
        return "DynamicQuantizedLinear"

    def extra_repr(self):
        weight = self.weight()
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"dtype={weight.dtype}, qscheme={weight.qscheme()}"
        )

    def __repr__(self):
        return hidden_repr(self, LinearPackedParams)
