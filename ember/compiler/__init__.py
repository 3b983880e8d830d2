"""ember.compiler: torch.compiler's names for an eager-only framework.

ember has no graph compiler: ``compile`` returns its argument (see ``ember.compile``), nothing
is ever being compiled (``is_compiling()`` is False), and the decorators that steer a compiler
(``disable``, ``allow_in_graph``, ``assume_constant_result``, ``substitute_in_graph``) return
the function they decorate.
"""

import contextlib

from ember._runtime import compile

__all__ = [
    "compile", "reset", "allow_in_graph", "substitute_in_graph", "list_backends", "disable",
    "assume_constant_result", "is_compiling", "is_dynamo_compiling", "is_exporting",
    "set_stance", "cudagraph_mark_step_begin", "wrap_numpy", "nested_compile_region",
]  # fmt: skip


def is_compiling():
    """False: ember code always runs eagerly, never inside a compiler's trace."""
    return False


def is_dynamo_compiling():
    return False


def is_exporting():
    return False


def disable(fn=None, recursive=True, *, reason=None):
    """Keep a function out of compilation. Usable bare, called (``@disable(recursive=False)``)
    or as a call on a function; ember compiles nothing, so the function is returned as is."""
    if fn is None:
        return lambda f: f
    return fn


def allow_in_graph(fn):
    """Let a compiler record ``fn`` as one node; eagerly ``fn`` itself."""
    return fn


def assume_constant_result(fn):
    """Let a compiler treat ``fn``'s result as a constant; eagerly ``fn`` itself."""
    return fn


def substitute_in_graph(
    original_fn, *, can_constant_fold_through=False, skip_signature_check=False
):
    """Give a compiler a traceable stand-in for ``original_fn``. As in PyTorch the decorator
    returns the original function, which is what runs eagerly."""

    def register(replacement):
        return original_fn

    return register


def nested_compile_region(fn=None):
    return fn if fn is not None else (lambda f: f)


def wrap_numpy(fn):
    return fn


def reset():
    """Clear compilation caches; ember has none."""


def list_backends(exclude_tags=("debug", "experimental")):
    """The names ``compile(backend=...)`` accepts; ember ignores the backend and runs eagerly."""
    return []


def set_stance(stance="default", *, skip_guard_eval_unsafe=False, force_backend=None):
    """Change how compiled code runs; ember compiles nothing, so the stance changes nothing. Like
    PyTorch's, it is usable as a call, a context manager and a decorator."""
    return _UnchangedStance()


class _UnchangedStance(contextlib.ContextDecorator):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def cudagraph_mark_step_begin():
    """Mark a CUDA-graph step boundary; ember records no CUDA graphs."""
