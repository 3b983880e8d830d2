"""ember.fx: symbolic tracing of modules into graphs, and the tools that edit and run them.

``symbolic_trace(module)`` records what a module's forward does as a ``Graph`` of ``Node``s,
wrapped in a ``GraphModule`` whose ``forward`` is Python generated from that graph.
``Interpreter`` runs a graph node by node, ``Transformer`` rewrites it into a new module.
"""

from ember.fx import passes, subgraph_rewriter
from ember.fx._symbolic_trace import PH, Tracer, symbolic_trace, wrap
from ember.fx.graph import Graph
from ember.fx.graph_module import GraphModule
from ember.fx.interpreter import Interpreter, Transformer
from ember.fx.node import Node, has_side_effect, map_arg
from ember.fx.proxy import Proxy
from ember.fx.subgraph_rewriter import replace_pattern

__all__ = [
    "symbolic_trace", "Tracer", "wrap", "PH", "Graph", "GraphModule", "Node", "Proxy",
    "Interpreter", "Transformer", "map_arg", "has_side_effect", "replace_pattern",
    "passes", "subgraph_rewriter",
]  # fmt: skip
