"""replace_pattern: find every occurrence of a small traced pattern and splice in a
replacement."""

from typing import NamedTuple

from ember.fx.graph_module import GraphModule
from ember.fx.node import Node, map_arg

__all__ = ["Match", "replace_pattern"]


class Match(NamedTuple):
    anchor: Node  # the pattern node that produces the pattern's result
    nodes_map: dict  # pattern node -> matched node of the rewritten graph


def _as_graph(fn_or_gm):
    if isinstance(fn_or_gm, GraphModule):
        return fn_or_gm.graph
    from ember.fx._symbolic_trace import symbolic_trace

    return symbolic_trace(fn_or_gm).graph


def _pattern_output(graph):
    out = next(n for n in graph.nodes if n.op == "output")
    anchor = out.args[0]
    if not isinstance(anchor, Node):
        raise NotImplementedError(
            "replace_pattern: the pattern must return a single value computed by a node; "
            f"it returns {anchor!r}"
        )
    return anchor


class _Matcher:
    """Structural matching of a pattern graph rooted at its output value."""

    def __init__(self, anchor):
        self.anchor = anchor

    def match_at(self, node):
        nodes_map = {}
        if not self._match(self.anchor, node, nodes_map):
            return None
        internal = [p for p in nodes_map if p.op != "placeholder"]
        for p in internal:  # nothing but the anchor may be read from outside the match
            if p is self.anchor:
                continue
            for user in nodes_map[p].users:
                if user not in {nodes_map[q] for q in internal}:
                    return None
        return nodes_map

    def _match(self, pn, gn, nodes_map):
        if pn in nodes_map:
            return nodes_map[pn] is gn
        if pn.op == "placeholder":
            nodes_map[pn] = gn
            return True
        if not isinstance(gn, Node) or pn.op != gn.op or pn.op == "output":
            return False
        if pn.target != gn.target:
            return False
        nodes_map[pn] = gn
        if not self._match_args(pn.args, gn.args, nodes_map):
            del nodes_map[pn]
            return False
        if set(pn.kwargs) != set(gn.kwargs) or not all(
            self._match_args(pn.kwargs[k], gn.kwargs[k], nodes_map) for k in pn.kwargs
        ):
            del nodes_map[pn]
            return False
        return True

    def _match_args(self, pa, ga, nodes_map):
        if isinstance(pa, Node):
            if pa.op == "placeholder":
                if pa in nodes_map:
                    bound = nodes_map[pa]
                    return bound is ga or (
                        not isinstance(bound, Node) and not isinstance(ga, Node) and bound == ga
                    )
                nodes_map[pa] = ga
                return True
            return isinstance(ga, Node) and self._match(pa, ga, nodes_map)
        if isinstance(pa, (tuple, list)):
            return (
                isinstance(ga, (tuple, list))
                and len(pa) == len(ga)
                and all(self._match_args(p, g, nodes_map) for p, g in zip(pa, ga))
            )
        if isinstance(pa, dict):
            return (
                isinstance(ga, dict)
                and set(pa) == set(ga)
                and all(self._match_args(pa[k], ga[k], nodes_map) for k in pa)
            )
        return not isinstance(ga, Node) and type(pa) is type(ga) and pa == ga


def _first_user(node):
    """The earliest node in the graph that reads node (node itself when nobody does): the
    replacement goes just before it, where torch puts it."""
    cur = node.next
    while cur.op != "root":
        if cur in node.users:
            return cur
        cur = cur.next
    return node


def replace_pattern(gm, pattern, replacement):
    """Replace each non-overlapping occurrence of pattern in gm's graph by replacement.

    pattern and replacement are functions (or GraphModules) with the same parameters;
    pattern's parameters match any value. Returns the Matches, in graph order; gm is
    recompiled.
    """
    pattern_graph = _as_graph(pattern)
    replacement_graph = _as_graph(replacement)
    anchor = _pattern_output(pattern_graph)
    pattern_inputs = [n for n in pattern_graph.nodes if n.op == "placeholder"]
    replacement_inputs = [n for n in replacement_graph.nodes if n.op == "placeholder"]
    if len(pattern_inputs) != len(replacement_inputs):
        raise ValueError(
            f"replace_pattern: the pattern takes {len(pattern_inputs)} inputs but the "
            f"replacement takes {len(replacement_inputs)}"
        )
    graph = gm.graph
    matcher = _Matcher(anchor)
    matches, claimed = [], set()
    for node in graph.nodes:
        nodes_map = matcher.match_at(node)
        if nodes_map is None:
            continue
        internal = {nodes_map[p] for p in nodes_map if p.op != "placeholder"}
        if internal & claimed:
            continue
        claimed |= internal
        matches.append(nodes_map)

    replaced = {}  # graph node -> the node that now stands for it

    def current(value):
        return map_arg(value, lambda n: replaced.get(n, n))

    results = []
    for nodes_map in matches:
        for p in pattern_inputs:
            if p in nodes_map:
                nodes_map[p] = current(nodes_map[p])
        anchor_node = nodes_map[anchor]
        val_map = {r: nodes_map.get(p) for p, r in zip(pattern_inputs, replacement_inputs)}
        with graph.inserting_before(_first_user(anchor_node)):
            new_value = graph.graph_copy(replacement_graph, val_map)
        if not isinstance(new_value, Node):
            raise NotImplementedError("replace_pattern: the replacement must return one node")
        anchor_node.replace_all_uses_with(new_value)
        replaced[anchor_node] = new_value
        internal = [nodes_map[p] for p in nodes_map if p.op != "placeholder"]
        for gn in reversed(list(graph.nodes)):
            if gn in internal and not gn.users:
                graph.erase_node(gn)
        results.append(Match(anchor=anchor, nodes_map=nodes_map))
    gm.recompile()
    return results
