"""Guards: the facts a compiled graph was specialised on, as one hashable key per call.

A call reuses a compiled graph only when its key is equal: the same tensor shapes, dtypes,
devices and ``requires_grad`` flags, equal values for every other argument, the same grad
mode, and for a module the same submodule and parameter objects and the same ``training``
flags (the graph calls the objects it was traced with, and dropout or batch norm trace
differently in eval mode).
"""

from ember._tensor import Tensor
from ember.autograd.grad_mode import GRAD_ENABLED
from ember.nn import Module

_PLAIN = (int, float, bool, str, bytes, type(None))


def argument_key(value):
    """A hashable description of one argument that changes whenever the graph would."""
    if isinstance(value, Tensor):
        return ("tensor", value.shape, value.dtype, value.device, value.requires_grad)
    if isinstance(value, _PLAIN):
        return (type(value), value)
    if isinstance(value, (list, tuple)):
        return (type(value), tuple(argument_key(v) for v in value))
    if isinstance(value, dict):
        return (dict, tuple((k, argument_key(v)) for k, v in value.items()))
    return ("object", id(value))


def module_key(module):
    """Identity and mode of every submodule and parameter of ``module``."""
    modules = list(module.modules())
    return (
        tuple(id(m) for m in modules),
        tuple(m.training for m in modules),
        tuple(id(p) for m in modules for p in m._parameters.values()),
    )


def call_key(target, arguments):
    """The guard key of calling ``target`` (a module or function) with bound ``arguments``."""
    args = tuple((name, argument_key(v)) for name, v in arguments.items())
    mode = GRAD_ENABLED[0]
    if isinstance(target, Module):
        return (args, mode, module_key(target))
    return (args, mode)
