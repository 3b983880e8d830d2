"""ember.overrides: the ``__torch_function__`` protocol's public helpers.

ember's own functions do not dispatch to ``__torch_function__``; these helpers let library code
that follows the protocol by hand (``if has_torch_function(args): return
handle_torch_function(...)``) work: an object whose class defines ``__torch_function__`` is
handed the call, as in PyTorch. Function modes are not supported.
"""

from ember._tensor import Tensor

__all__ = [
    "get_ignored_functions", "get_overridable_functions", "get_testing_overrides",
    "handle_torch_function", "has_torch_function", "has_torch_function_unary",
    "has_torch_function_variadic", "is_tensor_like", "is_tensor_method_or_property",
    "TorchFunctionMode",
]  # fmt: skip


def _overrides(obj):
    """True when ``obj``'s class brings its own ``__torch_function__``."""
    return getattr(type(obj), "__torch_function__", None) is not None


def has_torch_function(relevant_args):
    """True when an argument's class defines ``__torch_function__``."""
    return any(_overrides(a) for a in relevant_args)


def has_torch_function_unary(obj):
    return _overrides(obj)


def has_torch_function_variadic(*args):
    return has_torch_function(args)


def _overloaded_args(relevant_args):
    """Arguments with ``__torch_function__``, one per class, subclasses before their bases."""
    found = []
    for arg in relevant_args:
        if not _overrides(arg) or any(type(arg) is type(f) for f in found):
            continue
        position = next((i for i, f in enumerate(found) if issubclass(type(arg), type(f))), None)
        found.insert(len(found) if position is None else position, arg)
    return found


def handle_torch_function(public_api, relevant_args, *args, **kwargs):
    """Call the first ``__torch_function__`` of ``relevant_args`` that does not return
    NotImplemented; TypeError when all of them do."""
    overloaded = _overloaded_args(relevant_args)
    types = tuple(type(a) for a in overloaded)
    for arg in overloaded:
        result = type(arg).__torch_function__(public_api, types, args, kwargs)
        if result is not NotImplemented:
            return result
    name = getattr(public_api, "__qualname__", repr(public_api))
    raise TypeError(
        f"no implementation found for '{name}' on types that implement __torch_function__: "
        f"{list(types)}"
    )


def is_tensor_like(inp):
    """True for an ember Tensor and for any object whose class defines ``__torch_function__``."""
    return type(inp) is Tensor or hasattr(inp, "__torch_function__")


def is_tensor_method_or_property(func):
    return getattr(Tensor, getattr(func, "__name__", ""), None) is func


def get_ignored_functions():
    """Functions that never dispatch to ``__torch_function__``: ember's functions do not look
    for it at all, so the set of exceptions is empty."""
    return set()


def get_overridable_functions():
    return {}


def get_testing_overrides():
    return {}


class TorchFunctionMode:
    """Base class of ``__torch_function__`` modes. Subclasses can be defined, but ember's
    functions do not dispatch through modes, so entering one raises NotImplementedError rather
    than silently skipping the mode's code."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        raise NotImplementedError

    def __enter__(self):
        raise NotImplementedError(
            f"{type(self).__name__}: ember's functions do not dispatch through "
            "__torch_function__ modes (torch.overrides.TorchFunctionMode)"
        )

    def __exit__(self, *exc):
        return False
