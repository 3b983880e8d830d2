"""Graph: an ordered list of Nodes that together compute one function."""

import copy
import inspect
import warnings

from ember.fx._codegen import (
    Namespace,
    PythonCode,
    printable_target_name,
    python_code,
    snake_case,
)
from ember.fx.node import Node, map_arg

__all__ = ["Graph", "PythonCode"]


class _NodeList:
    """graph.nodes: iterates in order; erasing the current node while iterating is safe."""

    def __init__(self, graph, reverse=False):
        self._graph = graph
        self._reverse = reverse

    def __len__(self):
        return self._graph._len

    def __iter__(self):
        root = self._graph._root
        step = "_prev" if self._reverse else "_next"
        cur = getattr(root, step)
        while cur is not root:
            following = getattr(cur, step)
            if not cur._erased:
                yield cur
            cur = following

    def __reversed__(self):
        return iter(_NodeList(self._graph, not self._reverse))


class _InsertPoint:
    """Sets where new nodes go now; a ``with`` block restores the previous place on exit."""

    def __init__(self, graph, new_insert):
        self._graph = graph
        self._previous = graph._insert
        graph._insert = new_insert

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._graph._insert = self._previous


class Graph:
    """The intermediate representation of torch.fx: nodes in execution order."""

    def __init__(self, owning_module=None, tracer_cls=None):
        self._root = Node(self, "", "root", "", (), {})
        self._len = 0
        self._namespace = Namespace()
        self._insert = self._root.prepend
        self.owning_module = owning_module  # the GraphModule running this graph, if any
        self._tracer_cls = tracer_cls

    @property
    def nodes(self):
        return _NodeList(self)

    def find_nodes(self, *, op, target=None):
        """Nodes with this op (and target, when given), in order."""
        return [n for n in self.nodes if n.op == op and (target is None or n.target == target)]

    # -- creating nodes ---------------------------------------------------------------------
    def create_node(self, op, target, args=None, kwargs=None, name=None, type_expr=None):
        """Make a node at the current insertion point (the end unless inserting_* says)."""
        args = () if args is None else args
        kwargs = {} if kwargs is None else kwargs
        if not isinstance(args, tuple):
            raise TypeError(f"create_node: args must be a tuple, got {type(args).__name__}")
        if not isinstance(kwargs, dict):
            raise TypeError(f"create_node: kwargs must be a dict, got {type(kwargs).__name__}")
        candidate = name if name is not None else self._target_to_str(op, target)
        name = self._namespace.create_name(candidate)
        node = Node(self, name, op, target, args, kwargs, type_expr)
        self._insert(node)
        self._len += 1
        return node

    @staticmethod
    def _target_to_str(op, target):
        if op == "output":
            return "output"
        if isinstance(target, str):
            if target.startswith("__") and target.endswith("__") and len(target) > 4:
                target = target[2:-2]  # x.__getitem__(i) is named getitem
            return target.replace(".", "_")  # *args is named _args
        return snake_case(getattr(target, "__name__", type(target).__name__))

    def placeholder(self, name, type_expr=None, default_value=inspect.Signature.empty):
        """An input of the graph; default_value makes it optional."""
        args = () if default_value is inspect.Signature.empty else (default_value,)
        return self.create_node("placeholder", name, args, type_expr=type_expr)

    def get_attr(self, qualified_name, type_expr=None):
        """Read an attribute (parameter, buffer, tensor) of the owning module by dotted path."""
        if self.owning_module is not None and not _has_attr_path(
            self.owning_module, qualified_name
        ):
            warnings.warn(
                f"Attempted to insert a get_attr Node with no underlying reference in the "
                f"owning GraphModule! Call GraphModule.add_submodule to add the necessary "
                f"submodule, GraphModule.add_parameter to add the necessary Parameter, or "
                f"nn.Module.register_buffer to add the necessary buffer ({qualified_name})",
                stacklevel=2,
            )
        return self.create_node("get_attr", qualified_name, type_expr=type_expr)

    def call_module(self, module_name, args=None, kwargs=None, type_expr=None):
        """Call the owning module's submodule at the dotted path module_name."""
        if self.owning_module is not None and not _has_attr_path(self.owning_module, module_name):
            warnings.warn(
                f"Attempted to insert a call_module Node with no underlying reference in the "
                f"owning GraphModule! Call GraphModule.add_submodule to add the necessary "
                f"submodule ({module_name})",
                stacklevel=2,
            )
        return self.create_node("call_module", module_name, args, kwargs, type_expr=type_expr)

    def call_method(self, method_name, args=None, kwargs=None, type_expr=None):
        """Call method_name on args[0] with the remaining arguments."""
        return self.create_node("call_method", method_name, args, kwargs, type_expr=type_expr)

    def call_function(self, the_function, args=None, kwargs=None, type_expr=None):
        """Call a free function (an ember op, an operator, any Python callable)."""
        return self.create_node("call_function", the_function, args, kwargs, type_expr=type_expr)

    def output(self, result, type_expr=None):
        """The value the graph returns."""
        return self.create_node("output", "output", (result,), type_expr=type_expr)

    def node_copy(self, node, arg_transform=lambda x: x):
        """Copy node (from any graph) into this one; arg_transform maps its input nodes."""
        args = map_arg(node.args, arg_transform)
        kwargs = map_arg(node.kwargs, arg_transform)
        name = node.name if not self._namespace.is_used(node.name) else None
        new = self.create_node(node.op, node.target, args, kwargs, name, node.type)
        new.meta = copy.copy(node.meta)
        return new

    def graph_copy(self, g, val_map, return_output_node=False):
        """Copy every node of g into this graph, recording old->new in val_map.

        Returns the value g returns (mapped into this graph), or its output node itself
        when return_output_node is true; the output node is not copied otherwise.
        """
        for node in g.nodes:
            if node in val_map:
                continue
            if node.op == "output":
                result = map_arg(node.args[0], lambda n: val_map[n])
                return (result, node) if return_output_node else result
            val_map[node] = self.node_copy(node, lambda n: val_map[n])
        return None

    def __deepcopy__(self, memo):
        memo = memo if memo else {}
        g = Graph(tracer_cls=self._tracer_cls)
        result = g.graph_copy(self, {}, return_output_node=True)
        memo[id(self)] = g
        if result is not None:
            value, old_out = result
            g.output(value, type_expr=old_out.type).meta = copy.copy(old_out.meta)
        return g

    # -- insertion point --------------------------------------------------------------------
    def inserting_before(self, n=None):
        """New nodes go before n (the start of the graph when n is None)."""
        if n is None:
            return self.inserting_after(self._root)
        if n.graph is not self:
            raise ValueError("inserting_before: the node belongs to a different graph")
        return _InsertPoint(self, n.prepend)

    def inserting_after(self, n=None):
        """New nodes go after n (the end of the graph when n is None)."""
        if n is None:
            return self.inserting_before(self._root)
        if n.graph is not self:
            raise ValueError("inserting_after: the node belongs to a different graph")
        return _InsertPoint(self, n.append)

    # -- removing nodes ---------------------------------------------------------------------
    def erase_node(self, to_erase):
        """Remove a node nobody uses any more."""
        if to_erase.graph is not self:
            raise RuntimeError(f"erase_node: node {to_erase} does not belong to this graph")
        if to_erase._erased:
            warnings.warn(f"erase_node({to_erase}) on an already erased node", stacklevel=2)
            return
        if len(to_erase.users) > 0:
            raise RuntimeError(
                f"Tried to erase Node {to_erase} but it still had {len(to_erase.users)} "
                f"users in the graph: {to_erase.users}!"
            )
        to_erase._unlink()
        to_erase._erased = True
        self._len -= 1
        to_erase._update_args_kwargs((), {})

    def eliminate_dead_code(self, is_impure_node=None):
        """Erase nodes whose values nobody uses and that have no side effects.

        Returns True when the graph changed.
        """
        impure = is_impure_node if is_impure_node is not None else (lambda n: n.is_impure())
        changed = False
        for node in reversed(self.nodes):
            if not node.users and not impure(node):
                self.erase_node(node)
                changed = True
        return changed

    # -- checking and printing --------------------------------------------------------------
    def lint(self):
        """Check the graph is well formed; raises RuntimeError naming the fault."""
        seen = set()
        names = set()
        for node in self.nodes:
            if node.graph is not self:
                raise RuntimeError(f"Node '{node}' does not belong to this Graph!")
            if node.name in names:
                raise RuntimeError(f"Node redefined name {node.name}!")
            names.add(node.name)
            for inp in node.all_input_nodes:
                if inp.graph is not self:
                    raise RuntimeError(f"Argument '{inp}' of Node '{node}' is in another graph")
                if inp not in seen:
                    raise RuntimeError(
                        f"Argument '{inp}' of Node '{node}' was used before it has been defined!"
                    )
            for user in node.users:
                if node not in user._input_nodes:
                    raise RuntimeError(f"Node '{node}' lists '{user}' as a user, wrongly")
            seen.add(node)
        outputs = [n for n in self.nodes if n.op == "output"]
        if len(outputs) > 1:
            raise RuntimeError(f"Graph has {len(outputs)} output nodes; at most one is allowed")
        if self.owning_module is None:
            return
        for node in self.nodes:
            if node.op in ("get_attr", "call_module") and not _has_attr_path(
                self.owning_module, node.target
            ):
                raise RuntimeError(
                    f"Node {node} target {node.target} references nonexistent attribute of "
                    f"the owning module"
                )

    def python_code(self, root_module="self"):
        """The PythonCode (source and globals) of a forward running this graph."""
        return python_code(self, root_module)

    def __str__(self):
        return "\n".join(["graph():"] + ["    " + n.format_node() for n in self.nodes])

    def print_tabular(self):
        """Print one row per node: opcode, name, target, args, kwargs."""
        rows = [["opcode", "name", "target", "args", "kwargs"]]
        for n in self.nodes:
            target = n.target if isinstance(n.target, str) else printable_target_name(n.target)
            rows.append([n.op, n.name, str(target), str(n.args), str(n.kwargs)])
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        text = []
        for i, row in enumerate(rows):
            text.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
            if i == 0:
                text.append("  ".join("-" * w for w in widths))
        print("\n".join(text))


def _has_attr_path(module, dotted):
    obj = module
    for part in dotted.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            return False
    return True
