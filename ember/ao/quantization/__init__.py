"""``ember.ao.quantization`` (torch.ao.quantization and torch.quantization): dynamic int8
quantization of Linear layers, and quantized tensors.

``quantize_dynamic(model, {nn.Linear}, dtype=ember.qint8)`` returns a copy of ``model`` (or
changes it in place) with each selected layer replaced by its dynamically quantized version.
ember quantizes Linear, LSTM and GRU layers; asking for plain RNN layers or the cells raises.
"""

import copy
from dataclasses import dataclass

from ember import nn
from ember._dtype import qint8
from ember.ao.quantization import _checkpoint  # noqa: F401 (registers with checkpoints)
from ember.ao.quantization._qtensor import (
    QuantizedTensor,
    dequantize,
    quantize_per_channel,
    quantize_per_tensor,
)

__all__ = [
    "quantize_dynamic", "QConfig", "default_dynamic_qconfig", "per_channel_dynamic_qconfig",
    "QuantizedTensor", "quantize_per_tensor", "quantize_per_channel", "dequantize",
]  # fmt: skip


@dataclass(frozen=True)
class QConfig:
    """How a layer is quantized: here, whether its weight gets one scale per output channel."""

    per_channel: bool = False


default_dynamic_qconfig = QConfig(per_channel=False)
per_channel_dynamic_qconfig = QConfig(per_channel=True)

_UNSUPPORTED = ("RNN", "RNNCell", "LSTMCell", "GRUCell")


def _dynamic_layers():
    from ember.ao.nn.quantized import dynamic

    return {
        nn.Linear: dynamic.Linear,
        nn.modules.linear.NonDynamicallyQuantizableLinear: None,
        nn.LSTM: dynamic.LSTM,
        nn.GRU: dynamic.GRU,
    }


def _spec(qconfig_spec):
    """{layer type or qualified name: QConfig} from a set of types or a dict."""
    if qconfig_spec is None:
        return {nn.Linear: default_dynamic_qconfig}
    if isinstance(qconfig_spec, set | list | tuple):
        return {kind: default_dynamic_qconfig for kind in qconfig_spec}
    return {
        k: (v if isinstance(v, QConfig) else default_dynamic_qconfig)
        for k, v in qconfig_spec.items()
    }


def quantize_dynamic(model, qconfig_spec=None, dtype=qint8, mapping=None, inplace=False):
    """Replace the layers named by ``qconfig_spec`` by dynamically quantized ones."""
    if dtype != qint8:
        raise NotImplementedError(
            f"quantize_dynamic: ember supports dtype=ember.qint8, got {dtype}"
        )
    spec = _spec(qconfig_spec)
    for kind in spec:
        name = kind if isinstance(kind, str) else kind.__name__
        if name in _UNSUPPORTED:
            raise NotImplementedError(f"quantize_dynamic: ember does not quantize {name} layers")
    if not inplace:
        model = copy.deepcopy(model)
    layers = mapping or _dynamic_layers()
    _swap(model, "", spec, layers)
    return model


def _swap(module, prefix, spec, layers):
    for name, child in list(module.named_children()):
        path = f"{prefix}{name}"
        qconfig = spec.get(path) or next(
            (q for k, q in spec.items() if isinstance(k, type) and type(child) is k), None
        )
        target = layers.get(type(child))
        if qconfig is not None and target is not None:
            child.qconfig = qconfig
            setattr(module, name, target.from_float(child))
        else:
            _swap(child, path + ".", spec, layers)
