"""Parametrizations: a tensor of a module computed on access from other, stored tensors.

``register_parametrization(module, "weight", p)`` moves the parameter into
``module.parametrizations.weight`` (a ``ParametrizationList`` holding ``original``, or
``original0``, ``original1``, ... when ``p.right_inverse`` returns several tensors) and
gives the module's class, swapped for a subclass named ``Parametrized<Class>``, a property
``weight`` that evaluates the chain of parametrizations. Keys and names follow PyTorch's.
"""

from ember._tensor import Tensor
from ember.autograd.grad_mode import no_grad
from ember.nn.modules.container import ModuleDict, ModuleList
from ember.nn.parameter import Parameter

__all__ = [
    "ParametrizationList",
    "register_parametrization",
    "remove_parametrizations",
    "is_parametrized",
    "type_before_parametrizations",
]


class ParametrizationList(ModuleList):
    """The parametrizations of one tensor and the original tensor(s) they are computed from."""

    def __init__(self, modules, original, unsafe=False):
        super().__init__(modules)
        self.unsafe = unsafe
        with no_grad():
            new = original
            for module in reversed(self):
                if hasattr(module, "right_inverse"):
                    new = module.right_inverse(new)
        requires_grad = original.requires_grad
        if isinstance(new, Tensor):
            self.is_tensor = True
            self.ntensors = 1
            self.register_parameter("original", Parameter(new.detach(), requires_grad))
        else:
            self.is_tensor = False
            self.ntensors = len(new)
            for i, t in enumerate(new):
                self.register_parameter(f"original{i}", Parameter(t.detach(), requires_grad))

    def right_inverse(self, value):
        """Set the original tensor(s) so that the chain gives ``value``."""
        with no_grad():
            for module in reversed(self):
                if hasattr(module, "right_inverse"):
                    value = module.right_inverse(value)
            if self.is_tensor:
                self.original.copy_(value)
            else:
                for i, t in enumerate(value):
                    getattr(self, f"original{i}").copy_(t)

    def forward(self):
        modules = list(self)
        if self.is_tensor:
            x = modules[0](self.original)
        else:
            x = modules[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        for module in modules[1:]:
            x = module(x)
        return x


def is_parametrized(module, tensor_name=None):
    """True if ``module`` has parametrizations (on ``tensor_name``, when given)."""
    parametrizations = module.__dict__.get("_modules", {}).get("parametrizations")
    if not isinstance(parametrizations, ModuleDict):
        return False
    if tensor_name is None:
        return len(parametrizations) > 0
    return tensor_name in parametrizations


def type_before_parametrizations(module):
    """The module's class without the parametrization subclass."""
    cls = type(module)
    return cls.__bases__[0] if is_parametrized(module) else cls


def _inject_new_class(module):
    cls = type(module)

    def __setattr__(self, name, value):
        if is_parametrized(self, name):
            object.__setattr__(self, name, value)  # the property's setter
        else:
            cls.__setattr__(self, name, value)

    module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), {"__setattr__": __setattr__})


def _inject_property(module, tensor_name):
    def get_parametrized(self):
        return self.parametrizations[tensor_name]()

    def set_original(self, value):
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(type(module), tensor_name, property(get_parametrized, set_original))


def register_parametrization(module, tensor_name, parametrization, *, unsafe=False):
    """Compute ``module.<tensor_name>`` as ``parametrization(original)`` from now on."""
    if is_parametrized(module, tensor_name):
        module.parametrizations[tensor_name].append(parametrization)
        return module
    if tensor_name not in module._parameters and tensor_name not in module._buffers:
        raise ValueError(
            f"Module '{module}' does not have a parameter, a buffer, or a parametrized element "
            f"with name '{tensor_name}'"
        )
    original = getattr(module, tensor_name)
    parametrizations = ParametrizationList([parametrization], original, unsafe=unsafe)
    if not unsafe:
        with no_grad():
            value = parametrizations()
        if not isinstance(value, Tensor) or tuple(value.shape) != tuple(original.shape):
            raise ValueError(
                "Registering a parametrization may not change the shape of the tensor, unless "
                f"`unsafe` flag is enabled. The parametrization of '{tensor_name}' gives "
                f"{getattr(value, 'shape', type(value).__name__)} for {tuple(original.shape)}"
            )
    delattr(module, tensor_name)
    if not is_parametrized(module):
        _inject_new_class(module)
        module.parametrizations = ModuleDict()
    _inject_property(module, tensor_name)
    module.parametrizations[tensor_name] = parametrizations
    return module


def remove_parametrizations(module, tensor_name, leave_parametrized=True):
    """Make ``module.<tensor_name>`` a plain parameter again: its current value when
    ``leave_parametrized``, else the original tensor."""
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    parametrizations = module.parametrizations[tensor_name]
    if leave_parametrized:
        with no_grad():
            value = getattr(module, tensor_name)
        requires_grad = next(iter(parametrizations.parameters())).requires_grad
        param = Parameter(value.detach(), requires_grad)
    elif parametrizations.is_tensor:
        param = parametrizations.original
    else:
        raise ValueError(
            "Cannot leave unparametrized (`leave_parametrized=False`) a tensor that is "
            "parametrized in terms of a sequence of tensors."
        )
    delattr(type(module), tensor_name)
    del module.parametrizations[tensor_name]
    module.register_parameter(tensor_name, param)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = type(module).__bases__[0]
    return module
