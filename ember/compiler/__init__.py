"""ember.compiler: torch.compiler's names.

``compile`` is ``ember.compile`` (``ember._compile``: guarded ``ember.fx`` graphs whose
elementwise chains run as fused kernels). A compiled graph is traced once and then run as
ordinary ember calls, so ``is_compiling()`` is False, and the decorators that steer
PyTorch's compiler (``disable``, ``allow_in_graph``, ``assume_constant_result``,
``substitute_in_graph``) return the function they decorate.
"""

import contextlib

from ember._compile.frontend import compile

__all__ = [
    "compile", "reset", "allow_in_graph", "substitute_in_graph", "list_backends", "disable",
    "assume_constant_result", "is_compiling", "is_dynamo_compiling", "is_exporting",
    "set_stance", "cudagraph_mark_step_begin", "wrap_numpy", "nested_compile_region",
]  # fmt: skip


def is_compiling():
    """False: a compiled graph is traced once and then run as ordinary ember calls."""
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
    """Accepted for PyTorch's sake; each compiled callable keeps its own cache of graphs (see
    docs/compat.md)."""


def list_backends(exclude_tags=("debug", "experimental")):
    """The compiling backends ``compile(backend=...)`` accepts (the debug ones, "eager" and
    "aot_eager", are also accepted and run eagerly, as PyTorch leaves them out of this list)."""
    from ember._compile.frontend import FUSING_BACKENDS

    return list(FUSING_BACKENDS)


def set_stance(stance="default", *, skip_guard_eval_unsafe=False, force_backend=None):
    """Change how compiled code runs; ember's compiled callables have a single stance, so this
    changes nothing. Like PyTorch's, it is usable as a call, a context manager and a decorator."""
    return _UnchangedStance()


class _UnchangedStance(contextlib.ContextDecorator):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def cudagraph_mark_step_begin():
    """Mark a CUDA-graph step boundary; ember records no CUDA graphs."""
