"""LazyModuleMixin: modules whose parameter shapes are inferred from their first input."""

from ember._tensor import Tensor
from ember.nn.parameter import is_lazy

__all__ = ["LazyModuleMixin"]


class LazyModuleMixin:
    """Mixed in before a module class whose parameters start as UninitializedParameter.

    The first forward call runs ``initialize_parameters(*input)``, which materialises them from
    the input's shape; the module then becomes ``cls_to_become`` (``LazyLinear`` becomes
    ``Linear``). Loading a state_dict of initialised tensors materialises them too.
    """

    cls_to_become = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._load_hook = self.register_load_state_dict_pre_hook(_materialize_from_state_dict)
        self._initialize_hook = self.register_forward_pre_hook(_infer_parameters, with_kwargs=True)

    def has_uninitialized_params(self):
        """Whether this module (not its children) still has uninitialised parameters or buffers."""
        tensors = (*self._parameters.values(), *self._buffers.values())
        return any(is_lazy(t) for t in tensors)

    def initialize_parameters(self, *args, **kwargs):
        """Materialise the uninitialised parameters from the forward arguments."""
        raise NotImplementedError(
            f"initialize_parameters is not implemented for {type(self).__name__}"
        )


def _infer_parameters(module, args, kwargs):
    module.initialize_parameters(*args, **kwargs)
    if module.has_uninitialized_params():
        raise RuntimeError(f"module {type(module).__name__} has not been fully initialized")
    module._initialize_hook.remove()
    module._load_hook.remove()
    del module._initialize_hook
    del module._load_hook
    if module.cls_to_become is not None:
        module.__class__ = module.cls_to_become


def _materialize_from_state_dict(module, state_dict, prefix, *unused):
    """Give each uninitialised tensor the shape of the initialised one about to be loaded."""
    for name, current in (*module._parameters.items(), *module._buffers.items()):
        key = prefix + name
        if current is not None and is_lazy(current) and key in state_dict:
            loaded = state_dict[key]
            if isinstance(loaded, Tensor) and not is_lazy(loaded):
                current.materialize(loaded.shape)
