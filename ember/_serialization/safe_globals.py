"""The globals a user trusts ``ember.load(weights_only=True)`` to use, as in PyTorch.

``add_safe_globals([cls_or_fn, ...])`` admits each object under its ``module.qualname``;
``(obj, "module.name")`` admits it under the given name (for objects saved under another name).
``safe_globals([...])`` does the same for the duration of a ``with`` block.
"""

import contextlib

__all__ = ["add_safe_globals", "get_safe_globals", "clear_safe_globals", "safe_globals", "lookup"]

_ALLOWED = []


def add_safe_globals(safe_globals):
    """Admit ``safe_globals`` (a list of classes or functions, or ``(obj, "module.name")``
    pairs) in ``ember.load(weights_only=True)``."""
    if not isinstance(safe_globals, list | tuple):
        raise TypeError(
            f"add_safe_globals expects a list of globals, got {type(safe_globals).__name__}"
        )
    for entry in safe_globals:
        _name_of(entry)
    _ALLOWED.extend(safe_globals)


def get_safe_globals():
    """The list of globals admitted by ``add_safe_globals``."""
    return list(_ALLOWED)


def clear_safe_globals():
    """Forget every global admitted by ``add_safe_globals``."""
    _ALLOWED.clear()


@contextlib.contextmanager
def safe_globals(safe_globals):
    """Admit ``safe_globals`` inside a ``with`` block only."""
    before = list(_ALLOWED)
    add_safe_globals(safe_globals)
    try:
        yield
    finally:
        _ALLOWED[:] = before


def lookup():
    """``{"module.name": obj}`` for every admitted global."""
    out = {}
    for entry in _ALLOWED:
        obj = entry[0] if isinstance(entry, tuple) else entry
        out[_name_of(entry)] = obj
    return out


def _name_of(entry):
    if isinstance(entry, tuple):
        if len(entry) != 2 or not isinstance(entry[1], str):
            raise TypeError(
                f"a safe global given as a tuple must be (obj, 'module.name'), got {entry!r:.80}"
            )
        return entry[1]
    module = getattr(entry, "__module__", None)
    name = getattr(entry, "__qualname__", None)
    if not (isinstance(module, str) and isinstance(name, str)):
        raise TypeError(
            f"a safe global must be a class or function with __module__ and __qualname__, "
            f"got {entry!r:.80}; pass (obj, 'module.name') to name it"
        )
    return f"{module}.{name}"
