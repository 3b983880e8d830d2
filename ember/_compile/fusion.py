"""The fusion pass: maximal chains of elementwise nodes become one ``FusedKernel`` call.

Which nodes are elementwise comes from ``primitives``; which of them compute float tensors
comes from ``node.meta["kind"]``, recorded when the captured graph first ran. A chain grows
backwards from its last node, taking in a producer when every user of the producer is
already in the chain, so each chain has one output and its intermediates are never needed
outside it. Chains of a single node are left alone: ember's own op is already one pass. A
chain whose nodes are separated by a node that may write in place stays unfused, since the
kernel runs where the chain's last node was.
"""

import operator

from ember._compile import primitives
from ember._compile.expr import Builder
from ember._compile.kernel import FusedKernel

FUSIBLE_KINDS = ("float", "bool")


def fuse(gm):
    """Rewrite ``gm``'s graph in place; returns the kernels made."""
    nodes = list(gm.graph.nodes)
    position = {n: i for i, n in enumerate(nodes)}
    candidates = {n for n in nodes if _is_candidate(n, gm)}
    grouped = set()
    kernels = []
    for node in reversed(nodes):
        if node not in candidates or node in grouped:
            continue
        group = _grow(node, candidates, grouped)
        if len(group) < 2:
            continue
        grouped |= group
        members = sorted(group, key=position.__getitem__)
        span = nodes[position[members[0]] : position[members[-1]]]
        if any(n not in group and _may_mutate(n, gm) for n in span):
            continue  # the kernel runs at the last member: an in-place write between would leak in
        kernels.append(_replace(gm, members, f"fused_{len(kernels)}"))
    if kernels:
        gm.graph.lint()
        gm.recompile()
    return kernels


def _is_candidate(node, gm):
    if node.meta.get("kind") not in FUSIBLE_KINDS:
        return False
    if any(n.meta.get("kind") not in (*FUSIBLE_KINDS, "number") for n in node.all_input_nodes):
        return False
    probe = Builder()
    return primitives.expression(node, gm, probe, lambda a: _probe_operand(probe, a)) is not None


_INPLACE_OPERATORS = frozenset(
    (operator.setitem, operator.iadd, operator.isub, operator.imul, operator.itruediv)
)


def _may_mutate(node, gm):
    """Whether ``node`` may write into a tensor in place (judged conservatively)."""
    if node.op == "call_method":
        return node.target.endswith("_") and not node.target.startswith("__")
    if node.op == "call_module":
        return bool(getattr(gm.get_submodule(node.target), "inplace", False))
    if node.op != "call_function":
        return False
    if node.target in _INPLACE_OPERATORS or getattr(node.target, "__name__", "").endswith("_"):
        return True
    return node.kwargs.get("inplace") is True or any(a is True for a in node.args)


def _probe_operand(builder, arg):
    if isinstance(arg, (int, float)) or hasattr(arg, "op"):
        return builder.input(0) if hasattr(arg, "op") else builder.const(arg)
    raise primitives.NotFusible(type(arg).__name__)


def _grow(last, candidates, grouped):
    group = {last}
    changed = True
    while changed:
        changed = False
        for member in list(group):
            for producer in member.all_input_nodes:
                if (
                    producer not in group
                    and producer in candidates
                    and producer not in grouped
                    and all(user in group for user in producer.users)
                ):
                    group.add(producer)
                    changed = True
    return group


def _replace(gm, members, name):
    """Put one kernel call where the chain's last node was and erase the chain."""
    builder = Builder()
    inputs, terms = [], {}
    member_set = set(members)

    def operand(arg):
        if hasattr(arg, "op"):
            if arg in member_set:
                return terms[arg]
            if arg not in inputs:
                inputs.append(arg)
            return builder.input(inputs.index(arg))
        if isinstance(arg, bool) or not isinstance(arg, (int, float)):
            raise primitives.NotFusible(type(arg).__name__)
        return builder.const(arg)

    for node in members:
        terms[node] = primitives.expression(node, gm, builder, operand)
    last = members[-1]
    kernel = FusedKernel(name, builder, terms[last], _replayer(gm, members, inputs))
    with gm.graph.inserting_before(last):
        call = gm.graph.call_function(kernel, tuple(inputs))
    call.meta.update(last.meta)
    last.replace_all_uses_with(call)
    for node in reversed(members):
        gm.graph.erase_node(node)
    return kernel


def _replayer(gm, members, inputs):
    """The chain's original calls, run eagerly on the kernel's operands."""
    steps = [(n, n.op, n.target, n.args, n.kwargs) for n in members]
    modules = {n.target: gm.get_submodule(n.target) for n in members if n.op == "call_module"}

    def replay(*values):
        env = dict(zip(inputs, values))

        def value(a):
            return env[a] if hasattr(a, "op") else a

        for node, op, target, args, kwargs in steps:
            args = [value(a) for a in args]
            kwargs = {k: value(v) for k, v in kwargs.items()}
            if op == "call_function":
                env[node] = target(*args, **kwargs)
            elif op == "call_method":
                env[node] = getattr(args[0], target)(*args[1:], **kwargs)
            else:
                env[node] = modules[target](*args, **kwargs)
        return env[node]

    return replay
