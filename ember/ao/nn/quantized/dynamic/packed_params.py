"""The packed parameters of dynamically quantized layers, held as PyTorch holds them.

A quantized Linear keeps its int8 weight and float bias in a ``LinearPackedParams`` child
(``_packed_params``), whose ``_packed_params`` is the packed object; a quantized LSTM or GRU
keeps one ``PackedParameter`` per layer and direction in ``_all_weight_values``, whose
``param`` holds both products' packed weights and the biases. The packed objects are
`ScriptObject` states, so that state dicts have PyTorch's keys and values and load from and
save to PyTorch's checkpoints; each also carries ember's packed int8 kernel.
"""

from collections import OrderedDict

import numpy as np

from ember import _qscheme, nn
from ember._dtype import qint8
from ember._serialization.script_object import CELL_PARAMS, LINEAR_PACKED, ScriptObject
from ember._tensor import Tensor
from ember.ao.quantization._qtensor import QuantizedTensor
from ember.backends.registry import kernels


def check_weight(weight, op):
    """Refuse a weight that ember's int8 kernel cannot take."""
    if not isinstance(weight, QuantizedTensor) or weight.dtype != qint8:
        kind = getattr(weight, "dtype", type(weight).__name__)
        raise RuntimeError(f"{op}: the weight must be quantized to qint8, got {kind}")
    if weight.dim() != 2:
        raise RuntimeError(f"{op}: the weight must be 2-D, got shape {weight.shape}")
    if weight.qscheme() not in (_qscheme.per_tensor_affine, _qscheme.per_channel_affine):
        raise RuntimeError(f"{op}: ember does not take {weight.qscheme()} weights")
    if weight._axis not in (None, 0):
        raise RuntimeError(
            f"{op}: a per-channel weight must be quantized along axis 0 (output channels), "
            f"got axis {weight._axis}"
        )
    if np.any(np.asarray(weight._zero_points) != 0):
        raise RuntimeError(f"{op}: the int8 kernel takes weights with zero point 0")


def _check_bias(weight, bias, op):
    if bias is not None and (not isinstance(bias, Tensor) or bias.shape != (weight.shape[0],)):
        raise RuntimeError(
            f"{op}: the bias must be a tensor of shape ({weight.shape[0]},), got "
            f"{getattr(bias, 'shape', type(bias).__name__)}"
        )


def linear_packed(weight, bias, op="set_weight_bias"):
    """A LinearPackedParamsBase state: ``(weight, bias)``."""
    check_weight(weight, op)
    _check_bias(weight, bias, op)
    return ScriptObject((weight, bias), LINEAR_PACKED)


def kernel(packed):
    """ember's int8 kernel for a LinearPackedParamsBase state."""
    weight, bias = packed.__getstate__()[0]
    check_weight(weight, "quantized layer")
    _check_bias(weight, bias, "quantized layer")
    scales = np.asarray(weight._scales, np.float32)
    b = None if bias is None else bias.detach().numpy().astype(np.float32)
    return kernels.int8_linear_pack(weight._values, scales, b)


def record_version(module, destination, prefix):
    """Note ``module``'s state dict version in ``destination._metadata``, where PyTorch's
    loaders of quantized layers look for it (without it they expect an older layout)."""
    metadata = getattr(destination, "_metadata", None)
    if metadata is None:
        metadata = destination._metadata = OrderedDict()
    metadata[prefix[:-1]] = {"version": module._version}


def hidden_repr(module, hidden):
    """``module``'s repr without its children of the types ``hidden``, as PyTorch prints
    quantized layers (their packed parameters are not shown)."""
    extra = module.extra_repr()
    lines = extra.split("\n") if extra else []
    shown = {k: m for k, m in module._modules.items() if not isinstance(m, hidden)}
    for key, child in shown.items():
        lines.append(f"({key}): " + repr(child).replace("\n", "\n  "))
    if not lines:
        return module._get_name() + "()"
    if len(lines) == 1 and not shown:
        return f"{module._get_name()}({lines[0]})"
    return module._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


class LinearPackedParams(nn.Module):
    """A quantized Linear's weight and bias (``Linear._packed_params``)."""

    _version = 3

    def __init__(self, dtype=qint8):
        super().__init__()
        self.dtype = dtype
        zero = np.zeros((1, 1), np.int8)
        weight = QuantizedTensor(zero, qint8, _qscheme.per_tensor_affine, 1.0, 0)
        self.set_weight_bias(weight, None)

    def set_weight_bias(self, weight, bias):
        self._packed_params = linear_packed(weight, bias)
        self.kernel = kernel(self._packed_params)

    def _weight_bias(self):
        return self._packed_params.__getstate__()[0]

    def forward(self, x):
        return x

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        record_version(self, destination, prefix)
        destination[prefix + "dtype"] = self.dtype
        destination[prefix + "_packed_params"] = self._weight_bias()

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ):
        dtype, packed = prefix + "dtype", prefix + "_packed_params"
        if dtype in state_dict and state_dict[dtype] != qint8:
            error_msgs.append(f"{dtype}: ember's dynamically quantized Linear takes qint8")
        if packed not in state_dict:
            missing_keys.append(packed)
            return
        value = state_dict[packed]
        if not (isinstance(value, tuple) and len(value) == 2):
            error_msgs.append(f"{packed}: expected (weight, bias), got {type(value).__name__}")
            return
        ours = self._weight_bias()[0].shape
        if getattr(value[0], "shape", None) != ours:
            error_msgs.append(
                f"size mismatch for {packed}: copying a weight with shape "
                f"{getattr(value[0], 'shape', None)} from checkpoint, the shape in current model "
                f"is {ours}."
            )
            return
        try:
            self.set_weight_bias(*value)
        except RuntimeError as e:
            error_msgs.append(f"{packed}: {e}")

    def __repr__(self):
        return repr(self._weight_bias())

    def __getstate__(self):  # the kernel holds oneDNN handles: copies and pickles repack
        state = self.__dict__.copy()
        del state["kernel"]
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self.kernel = kernel(self._packed_params)


class PackedParameter(nn.Module):
    """One layer and direction of a quantized LSTM or GRU (``_all_weight_values[k]``):
    ``param`` holds its CellParamsBase state."""

    def __init__(self, param):
        super().__init__()
        self.param = param
        self._kernels = None

    def kernels(self):
        """``(input product, recurrent product)`` kernels of the current ``param``, and its
        reduce_range flag."""
        if self._kernels is None or self._kernels[0] is not self.param:
            _, _, _, longs, (ih, hh) = self.param.__getstate__()[0]
            reduce_range = bool(longs[0]) if longs else True
            self._kernels = (self.param, kernel(ih), kernel(hh), reduce_range)
        return self._kernels[1:]

    def __getstate__(self):  # the kernels hold oneDNN handles: copies and pickles repack
        return {**self.__dict__, "_kernels": None}

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        destination[prefix + "param"] = self.param

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ):
        key = prefix + "param"
        if key not in state_dict:
            missing_keys.append(key)
            return
        value = state_dict[key]
        if type(value) is not ScriptObject or value.__getstate__()[1] != CELL_PARAMS:
            error_msgs.append(f"{key}: expected recurrent cell parameters, got {value!r:.80}")
            return
        w_ih, w_hh, _, _ = cell_weights(value)
        ours = cell_weights(self.param)
        if (w_ih.shape, w_hh.shape) != (ours[0].shape, ours[1].shape):
            error_msgs.append(
                f"size mismatch for {key}: weights of shapes {w_ih.shape} and {w_hh.shape} in "
                f"the checkpoint, {ours[0].shape} and {ours[1].shape} in the current model"
            )
            return
        before = self.param
        self.param = value
        try:
            self.kernels()
        except RuntimeError as e:
            self.param = before
            error_msgs.append(f"{key}: {e}")


def cell_weights(param):
    """``(w_ih, w_hh, b_ih, b_hh)`` of a CellParamsBase state: quantized weights, float
    biases."""
    _, _, _, _, (ih, hh) = param.__getstate__()[0]
    (w_ih, b_ih), (w_hh, b_hh) = ih.__getstate__()[0], hh.__getstate__()[0]
    return w_ih, w_hh, b_ih, b_hh


def cell_params(w_ih, w_hh, b_ih, b_hh):
    """A CellParamsBase state for one layer and direction (activations in 7 bits, as
    PyTorch's current quantized LSTM and GRU store them)."""
    ih, hh = linear_packed(w_ih, b_ih), linear_packed(w_hh, b_hh)
    return ScriptObject(("quantized_dynamic", [b_ih, b_hh], [], [1], [ih, hh]), CELL_PARAMS)
