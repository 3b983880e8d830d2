"""ember.jit: torch.jit's names, with PyTorch's behaviour when the JIT is off (``PYTORCH_JIT=0``).

ember has no TorchScript compiler. ``script`` returns what it is given, ``trace`` runs the
function once on its example inputs and returns it, the decorators (``ignore``, ``unused``,
``export``, ``interface``) leave functions as written, ``is_scripting()`` and ``is_tracing()``
are False, and ``fork`` runs its call at once. ``save`` and ``load`` raise NotImplementedError
naming ``ember.save`` of the state_dict as the way to store a model.
"""

from ember.jit._fork import Future, fork, wait
from ember.jit._script import (
    Attribute,
    Final,
    RecursiveScriptModule,
    ScriptFunction,
    ScriptModule,
    annotate,
    export,
    ignore,
    interface,
    script,
    script_if_tracing,
    script_method,
    unused,
)
from ember.jit._script import jit_isinstance as isinstance
from ember.jit._serialization import load, save
from ember.jit._trace import TracerWarning, is_tracing, trace, trace_module

__all__ = [
    "Attribute", "Final", "Future", "RecursiveScriptModule", "ScriptFunction", "ScriptModule",
    "TracerWarning", "annotate", "enable_onednn_fusion", "export", "fork", "freeze", "ignore",
    "interface", "is_scripting", "is_tracing", "isinstance", "load", "optimize_for_inference",
    "save", "script", "script_if_tracing", "script_method", "trace", "trace_module", "unused",
    "wait",
]  # fmt: skip


def is_scripting():
    """False: ember code always runs in Python, never as a compiled TorchScript program."""
    return False


def freeze(mod, preserved_attrs=None, optimize_numerics=True):
    """Freezing inlines a ScriptModule's weights; an eager module is returned as it is."""
    return mod


def optimize_for_inference(mod, other_methods=None):
    return mod


def enable_onednn_fusion(enabled):
    """A TorchScript fusion switch; ember's oneDNN use does not depend on it."""


def _overload(func):
    """Declares one typed signature of an overloaded function for the compiler; eagerly the
    last definition is the function, as in plain Python."""
    return func


def _overload_method(func):
    return func
