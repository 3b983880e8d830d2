"""Node: one operation of an fx Graph, with its arguments and the nodes that use it."""

__all__ = ["Node", "map_arg", "map_aggregate", "Argument", "Target"]

Argument = object  # any value a node argument may hold: a Node, a constant or a nest of them
Target = object  # what a node calls: a callable for call_function, a name for the other ops

_OPCODES = frozenset(
    {"placeholder", "get_attr", "call_function", "call_method", "call_module", "output", "root"}
)

# Functions whose calls must never be removed by dead-code elimination.
_side_effectful_functions = set()


def map_aggregate(a, fn):
    """Apply fn to every leaf of a nest of tuples, lists, dicts and slices, keeping the nest."""
    if isinstance(a, tuple):
        mapped = tuple(map_aggregate(x, fn) for x in a)
        return type(a)(*mapped) if hasattr(a, "_fields") else mapped
    if isinstance(a, list):
        return [map_aggregate(x, fn) for x in a]
    if isinstance(a, dict):
        return {k: map_aggregate(v, fn) for k, v in a.items()}
    if isinstance(a, slice):
        return slice(
            map_aggregate(a.start, fn), map_aggregate(a.stop, fn), map_aggregate(a.step, fn)
        )
    return fn(a)


def map_arg(a, fn):
    """Apply fn to every Node inside a nest of arguments; other leaves are kept as they are."""
    if not callable(fn):
        raise TypeError("map_arg(a, fn): fn must be a callable")
    return map_aggregate(a, lambda x: fn(x) if isinstance(x, Node) else x)


def _format_arg(arg):
    """How an argument reads in a printed graph: nodes as %name."""
    if isinstance(arg, Node):
        return "%" + arg.name
    if isinstance(arg, tuple) and not hasattr(arg, "_fields"):
        items = ", ".join(_format_arg(a) for a in arg)
        return f"({items},)" if len(arg) == 1 else f"({items})"
    if isinstance(arg, list):
        return "[" + ", ".join(_format_arg(a) for a in arg) + "]"
    if isinstance(arg, dict):
        return "{" + ", ".join(f"{k}: {_format_arg(v)}" for k, v in arg.items()) + "}"
    return str(arg)


def _qualified_name(target):
    """module.name of a callable target, as printed in graphs."""
    if isinstance(target, str):
        return target
    from ember.fx._codegen import printable_target_name

    return printable_target_name(target)


class Node:
    """One operation in a Graph.

    ``op`` is one of placeholder, get_attr, call_function, call_method, call_module, output;
    ``target`` is what it calls (a callable for call_function, a name or dotted path for the
    others); ``args``/``kwargs`` hold constants and other Nodes; ``users`` are the nodes that
    read this one's value.
    """

    def __init__(self, graph, name, op, target, args, kwargs, return_type=None):
        if op not in _OPCODES:
            raise ValueError(f"Node: unknown op {op!r}; expected one of {sorted(_OPCODES)}")
        if op == "call_function" and not callable(target):
            raise ValueError(
                f"Node [name = '{name}'] target {target!r} has type "
                f"{type(target)} but a callable is expected for call_function"
            )
        if op in ("placeholder", "get_attr", "call_method", "call_module") and not isinstance(
            target, str
        ):
            raise ValueError(
                f"Node [name = '{name}'] target {target!r} has type {type(target)} but a str "
                f"is expected for {op}"
            )
        self.graph = graph
        self.name = name
        self.op = op
        self.target = target
        self._input_nodes = {}
        self.users = {}
        self.type = return_type
        self._prev = self
        self._next = self
        self._erased = False
        self.meta = {}
        self._args = ()
        self._kwargs = {}
        self._update_args_kwargs(tuple(args), dict(kwargs))

    # -- arguments --------------------------------------------------------------------------
    @property
    def args(self):
        return self._args

    @args.setter
    def args(self, a):
        self._update_args_kwargs(tuple(a), self._kwargs)

    @property
    def kwargs(self):
        return self._kwargs

    @kwargs.setter
    def kwargs(self, k):
        self._update_args_kwargs(self._args, dict(k))

    @property
    def all_input_nodes(self):
        """The distinct nodes this node reads, in order of first appearance."""
        return list(self._input_nodes)

    def _update_args_kwargs(self, new_args, new_kwargs):
        new_inputs = {}

        def record(n):
            if n.graph is not self.graph:
                raise RuntimeError(
                    f"Node '{self.name}': argument '{n.name}' belongs to a different graph"
                )
            new_inputs.setdefault(n)
            return n

        args, kwargs = map_arg(new_args, record), map_arg(new_kwargs, record)
        for old in self._input_nodes:
            old.users.pop(self, None)
        self._input_nodes = new_inputs
        self._args, self._kwargs = args, kwargs
        for n in new_inputs:
            n.users.setdefault(self)

    def update_arg(self, idx, arg):
        """Set args[idx] to arg."""
        args = list(self._args)
        args[idx] = arg
        self.args = tuple(args)

    def insert_arg(self, idx, arg):
        """Insert arg at args[idx]."""
        args = list(self._args)
        args.insert(idx, arg)
        self.args = tuple(args)

    def update_kwarg(self, key, arg):
        """Set kwargs[key] to arg."""
        kwargs = dict(self._kwargs)
        kwargs[key] = arg
        self.kwargs = kwargs

    def replace_input_with(self, old_input, new_input):
        """Read new_input wherever this node read old_input."""

        def swap(n):
            return new_input if n is old_input else n

        self._update_args_kwargs(map_arg(self._args, swap), map_arg(self._kwargs, swap))

    def replace_all_uses_with(
        self, replace_with, delete_user_cb=lambda user: True, *, propagate_meta=False
    ):
        """Make every user of this node (for which delete_user_cb is true) read replace_with.

        Returns the users that were changed.
        """
        if propagate_meta:
            if replace_with.meta:
                raise RuntimeError(
                    "replace_all_uses_with(propagate_meta=True): the replacement node already "
                    "has meta; it would be overwritten"
                )
            replace_with.meta.update(self.meta)
        changed = []
        for user in list(self.users):
            if not delete_user_cb(user):
                continue
            user.replace_input_with(self, replace_with)
            changed.append(user)
        return changed

    # -- position in the graph --------------------------------------------------------------
    @property
    def next(self):
        return self._next

    @property
    def prev(self):
        return self._prev

    def _unlink(self):
        p, n = self._prev, self._next
        p._next, n._prev = n, p

    def prepend(self, x):
        """Move (or insert) node x to just before this node."""
        if x is self:
            raise RuntimeError("Node.prepend: cannot put a node before itself")
        if x.graph is not self.graph:
            raise RuntimeError("Node.prepend: the node belongs to a different graph")
        x._unlink()
        p = self._prev
        p._next, x._prev = x, p
        x._next, self._prev = self, x

    def append(self, x):
        """Move (or insert) node x to just after this node."""
        self._next.prepend(x)

    # -- properties -------------------------------------------------------------------------
    @property
    def stack_trace(self):
        return self.meta.get("stack_trace")

    @stack_trace.setter
    def stack_trace(self, trace):
        self.meta["stack_trace"] = trace

    def is_impure(self):
        """True for nodes that dead-code elimination must keep though nobody reads them."""
        if self.op in ("placeholder", "output"):
            return True
        if self.op == "call_function":
            return any(self.target is fn for fn in _side_effectful_functions)
        if self.op == "call_method":  # in-place methods (x.add_(y)) change their input
            return self.target.endswith("_") and not self.target.endswith("__")
        if self.op == "call_module" and self.graph.owning_module is not None:
            mod = self.graph.owning_module.get_submodule(self.target)
            return bool(getattr(mod, "_is_impure", False))
        return False

    def format_node(self):
        """One line of print(graph) for this node."""
        if self.op == "placeholder":
            default = ""
            if self.args:
                default = f"(default={self.args[0]})"
            return (
                f"%{self.name} : [num_users={len(self.users)}] = "
                f"placeholder[target={self.target}]{default}"
            )
        if self.op == "get_attr":
            return f"%{self.name} : [num_users={len(self.users)}] = get_attr[target={self.target}]"
        if self.op == "output":
            return f"return {self.args[0]!r}" if self.args else "return"
        target = _qualified_name(self.target)
        return (
            f"%{self.name} : [num_users={len(self.users)}] = {self.op}[target={target}]"
            f"(args = {_format_arg(self._args)}, kwargs = {_format_arg(self._kwargs)})"
        )

    def __repr__(self):
        return self.name


def has_side_effect(fn):
    """Mark fn so that dead-code elimination keeps its calls; returns fn (usable as decorator)."""
    _side_effectful_functions.add(fn)
    return fn
