"""The dynamically quantized Linear layer: int8 weights, activations quantized per call.

Made from a float ``nn.Linear`` by ``quantize_dynamic`` (or `Linear.from_float`): the weight
is quantized to int8 once (per tensor by default, per output channel with the per-channel
qconfig) and packed for the int8 kernel; each forward quantizes its input to uint8 over the
input's own range and returns float32. It is an inference layer: nothing is trained through it.
"""

import numpy as np

from ember import _qscheme, nn
from ember._dtype import float32, qint8
from ember._ops.creation import from_numpy, tensor, zeros
from ember.ao.quantization import _qparams
from ember.ao.quantization._qtensor import QuantizedTensor
from ember.backends.registry import kernels


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
        weight = np.zeros((out_features, in_features), np.float32)
        scale, values = _qparams.weight_qparams(weight, per_channel=False)
        bias = zeros(out_features, dtype=float32) if bias_ else None
        self.set_weight_bias(
            QuantizedTensor(values, qint8, _qscheme.per_tensor_affine, float(scale), 0), bias
        )

    def set_weight_bias(self, weight, bias):
        """Store a quantized weight (a QuantizedTensor of qint8) and a float bias, and pack them."""
        if weight.dtype != qint8:
            raise RuntimeError(
                f"set_weight_bias: the weight must be quantized to qint8, got {weight.dtype}"
            )
        self._weight, self._bias = weight, bias
        scales = np.asarray(weight._scales, np.float32)
        b = None if bias is None else bias.detach().numpy()
        self._packed = kernels.int8_linear_pack(weight._values, scales, b)

    def weight(self):
        return self._weight

    def bias(self):
        return self._bias

    def _weight_bias(self):
        return self._weight, self._bias

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
        out = self._packed.run(q, scale, zero_point)
        return from_numpy(out.reshape(*x.shape[:-1], self.out_features))

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        # The output scale and zero point of static quantized Linear, unused here but kept
        # so that the keys are PyTorch's.
        destination[prefix + "scale"] = tensor(1.0)
        destination[prefix + "zero_point"] = tensor(0)
        destination[prefix + "_packed_params.dtype"] = qint8
        destination[prefix + "_packed_params._packed_params"] = (self._weight, self._bias)

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ):
        key = prefix + "_packed_params._packed_params"
        if key in state_dict:
            weight, bias = state_dict.pop(key)
            for extra in ("_packed_params.dtype", "scale", "zero_point"):
                state_dict.pop(prefix + extra, None)
            self.set_weight_bias(weight, bias)
        elif strict:
            missing_keys.append(key)

    def _get_name(self):
        return "DynamicQuantizedLinear"

    def extra_repr(self):
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"dtype={self._weight.dtype}, qscheme={self._weight.qscheme()}"
        )
