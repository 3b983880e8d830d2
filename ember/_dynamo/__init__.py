"""ember._dynamo: the names libraries probe on torch._dynamo.

``OptimizedModule`` is what ``ember.compile`` returns for a module; ``utils.compile_times``
reports what compiling took. A compiled graph is traced once and then run as ordinary ember
calls, so ``is_compiling()`` is False; the decorators return what they decorate, ``optimize``
gives a decorator that changes nothing, shape marks are accepted and ignored (every shape is
compiled statically), and of ``config`` only ``recompile_limit`` has an effect.
"""

from ember._dynamo import config, exc, utils  # noqa: F401  (submodules, as torch._dynamo.utils)
from ember._dynamo.eval_frame import OptimizedModule
from ember.compiler import (
    allow_in_graph,
    assume_constant_result,
    disable,
    is_compiling,
    list_backends,
    reset,
    set_stance,
    substitute_in_graph,
)

__all__ = [
    "allow_in_graph", "assume_constant_result", "config", "disable", "disallow_in_graph",
    "forbid_in_graph", "graph_break", "is_compiling", "list_backends", "mark_dynamic",
    "mark_static", "mark_static_address", "maybe_mark_dynamic", "OptimizedModule", "optimize",
    "reset",
    "set_stance", "substitute_in_graph",
]  # fmt: skip


def mark_dynamic(t, index, *, hint_override=None, min=None, max=None, specialize_on=None):
    """Tell a compiler that dimension(s) ``index`` of ``t`` vary; ember compiles nothing."""


def maybe_mark_dynamic(t, index):
    pass


def mark_static(t, index=None):
    pass


def mark_static_address(t, guard=True):
    pass


def disallow_in_graph(fn):
    return fn


def forbid_in_graph(fn):
    return fn


def graph_break():
    """Split a compiled graph here; eager code has no graph to split."""


def optimize(*args, **kwargs):
    """``torch._dynamo.optimize(backend)``: a decorator that returns the function unchanged."""
    return lambda fn: fn
