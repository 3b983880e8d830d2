"""How a layer makes its own tensors: the ``device=``/``dtype=`` keywords, weight and bias."""

from ember._device import resolve_device
from ember._ops.creation import empty
from ember.nn.parameter import Parameter


def factory_kwargs(module, device, dtype):
    """``{"device": ..., "dtype": ...}`` for ``ember.empty`` and friends, as PyTorch's layers build
    them; a device ember cannot serve raises here, naming the layer."""
    return {"device": resolve_device(device, f"nn.{type(module).__name__}"), "dtype": dtype}


def add_weight_and_bias(module, weight_shape, bias_size, bias, factory):
    """Register uninitialised ``weight`` and ``bias`` parameters (``bias`` None when not wanted);
    the layer's ``reset_parameters`` fills them."""
    module.weight = Parameter(empty(weight_shape, **factory))
    if bias:
        module.bias = Parameter(empty(bias_size, **factory))
    else:
        module.register_parameter("bias", None)
