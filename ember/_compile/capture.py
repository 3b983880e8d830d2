"""Capture: a module's forward (or a function) as an ``ember.fx`` graph, plus what each node
computed the first time it ran.

Tensor arguments become placeholders; every other argument is baked into the graph as the
constant it was (the guards make a different value recompile). ``record_run`` runs the graph
node by node on the call's real arguments and returns that call's result, so the first call
of a compiled model is computed once, with its side effects (running statistics, random
draws) happening exactly once, while each node's ``meta["kind"]`` is noted for the fuser.
"""

import inspect

import numpy as np

from ember._tensor import Tensor
from ember.fx import GraphModule, Interpreter, Tracer
from ember.fx._symbolic_trace import _assert, _assert_is_none
from ember.nn import (
    Module,
    TransformerDecoder,
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

# ember.nn layers made of elementwise steps worth fusing: traced through, not kept whole
_TRACED_THROUGH = (
    TransformerEncoder,
    TransformerEncoderLayer,
    TransformerDecoder,
    TransformerDecoderLayer,
)


class _CaptureTracer(Tracer):
    def is_leaf_module(self, m, module_qualified_name):
        return not isinstance(m, _TRACED_THROUGH) and super().is_leaf_module(
            m, module_qualified_name
        )


class CaptureError(Exception):
    """The callable could not be recorded as one graph (the reason is the message)."""


def signature_of(fn):
    """``fn``'s signature; raises CaptureError for ``*args``/``**kwargs`` parameters."""
    signature = inspect.signature(fn)
    for p in signature.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise CaptureError(f"{fn.__qualname__} takes *{p.name}; only named parameters trace")
    return signature


def bind(signature, args, kwargs):
    """The call's arguments by parameter name, in the order of the signature."""
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    return bound.arguments


def capture(target, arguments):
    """A GraphModule computing ``target(**arguments)``; raises CaptureError when it cannot."""
    concrete = {name: v for name, v in arguments.items() if not isinstance(v, Tensor)}
    for name, value in concrete.items():
        if _holds_tensor(value):
            raise CaptureError(f"argument {name!r} holds tensors inside a {type(value).__name__}")
    root = target if isinstance(target, Module) else Module()
    try:
        graph = _CaptureTracer().trace(target, concrete_args=concrete)
    except Exception as error:  # whatever stops the trace, the call still runs eagerly
        raise CaptureError(f"{type(error).__name__}: {error}") from error
    _drop_specialisation_asserts(graph)
    name = type(target).__name__ if root is target else target.__name__
    return GraphModule(root, graph, name)


def placeholder_names(gm, arguments):
    """The argument names the graph's placeholders take, in order (a baked-in argument keeps
    a placeholder named ``<name>_1``, as in torch.fx)."""
    names = []
    for node in gm.graph.find_nodes(op="placeholder"):
        names.append(node.target if node.target in arguments else node.target[:-2])
    return names


def _drop_specialisation_asserts(graph):
    """Remove the checks the tracer adds for baked-in arguments: the guards check them."""
    for node in reversed(list(graph.nodes)):
        if node.op == "call_function" and node.target in (_assert, _assert_is_none):
            checked = node.args[0]
            graph.erase_node(node)
            if checked.op == "call_function" and not checked.users:
                graph.erase_node(checked)


def _holds_tensor(value):
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(isinstance(v, Tensor) or _holds_tensor(v) for v in value)
    if isinstance(value, dict):
        return _holds_tensor(list(value.values()))
    return False


def _kind(value):
    if isinstance(value, Tensor):
        dtype = value._data.dtype
        if dtype in (np.float32, np.float64):
            return "float"
        return "bool" if dtype == np.bool_ else "tensor"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "number"
    return "other"


class _Recorder(Interpreter):
    def run_node(self, n):
        value = super().run_node(n)
        n.meta["kind"] = _kind(value)
        return value


def record_run(gm, values):
    """Run ``gm`` on the placeholder values, noting each node's kind; returns the result."""
    return _Recorder(gm).run(*values)
