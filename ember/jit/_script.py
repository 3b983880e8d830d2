"""``torch.jit.script`` and its decorators, as PyTorch runs them with the JIT off
(``PYTORCH_JIT=0``): code runs eagerly in Python, every decorator hands back what it was given."""

import types
import typing
import warnings

from ember.nn import Module

Final = typing.Final


class ScriptModule(Module):
    """The type of a compiled TorchScript module. ember compiles nothing, so no module it returns
    is one: ``isinstance(m, torch.jit.ScriptModule)`` is False, as under ``PYTORCH_JIT=0``. A
    class written as a subclass (with ``@script_method`` methods) is an ordinary module."""

    def __init__(self, arg=None):
        super().__init__()


class RecursiveScriptModule(ScriptModule):
    """The type of a module ``torch.jit.script`` compiled recursively; never created by ember."""


class ScriptFunction:
    """The type of a compiled TorchScript function; never created by ember."""


def script(obj, optimize=None, _frames_up=0, _rcb=None, example_inputs=None):
    """Return ``obj`` (a function, module or class) unchanged: ember always runs eagerly."""
    return obj


def script_if_tracing(fn):
    return fn


def script_method(fn):
    """Marks a method of a ``ScriptModule`` subclass to compile; eagerly the method itself."""
    return fn


def annotate(the_type, the_value):
    """A type hint for the TorchScript compiler; eagerly it is ``the_value``."""
    return the_value


def Attribute(value, type):  # noqa: N802 - PyTorch's name
    """Declares a ScriptModule attribute's type; eagerly it is ``value``."""
    return value


def ignore(drop=False, **kwargs):
    """Leaves a function to Python when its caller is compiled; usable bare or as
    ``@ignore(drop=True)``. Eagerly the function runs as written."""
    if callable(drop):
        return _marked(drop, "ignore")
    if not isinstance(drop, bool):
        raise RuntimeError(
            f"Argument to @torch.jit.ignore must be a bool or a function but got {drop}"
        )
    if drop:
        warnings.warn(
            "torch.jit.ignore(drop=True) is deprecated: use torch.jit.unused for a function "
            "to drop from compiled code",
            FutureWarning,
            stacklevel=2,
        )
    return lambda fn: _marked(fn, "unused" if drop else "ignore")


def unused(fn):
    """Replaces a function (or property) by an exception when its caller is compiled. Eagerly
    the function runs as written."""
    return _marked(fn, "unused")


def _marked(fn, mark):
    """Record the mark where PyTorch does (``fn._torchscript_modifier``) and return ``fn``."""
    target = fn.fget if isinstance(fn, property) else fn
    try:
        target._torchscript_modifier = mark
    except (AttributeError, TypeError):
        pass  # a builtin or a bound method: nothing to mark
    return fn


def export(fn):
    """Marks a method to compile as an entry point; eagerly it is the method itself."""
    return _marked(fn, "export")


def interface(obj):
    """Declares a TorchScript interface; eagerly it is the class itself."""
    return obj


def jit_isinstance(obj, target_type):
    """``torch.jit.isinstance``: ``isinstance`` that also checks the element types of
    ``list[int]``, ``dict[str, Tensor]``, ``tuple[...]`` and ``Optional[...]``."""
    origin = typing.get_origin(target_type)
    args = typing.get_args(target_type)
    if target_type is typing.Any:
        return True
    if origin is None:
        return isinstance(obj, target_type)
    if origin in (typing.Union, types.UnionType):
        return any(jit_isinstance(obj, a) for a in args)
    if not isinstance(obj, origin):
        return False
    if origin is list:
        return all(jit_isinstance(x, args[0]) for x in obj) if args else True
    if origin is dict and args:
        return all(
            jit_isinstance(k, args[0]) and jit_isinstance(v, args[1]) for k, v in obj.items()
        )
    if origin is tuple and args:
        return len(obj) == len(args) and all(jit_isinstance(x, a) for x, a in zip(obj, args))
    return True
