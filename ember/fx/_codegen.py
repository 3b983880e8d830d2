"""Python source for a Graph: names, how targets are spelled, and the forward function."""

import builtins
import keyword
import operator
import re
import sys
import types

import ember
from ember.fx.node import Node

# operator functions written as Python syntax in generated code
INFIX_OPS = {
    operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/",
    operator.floordiv: "//", operator.mod: "%", operator.pow: "**", operator.lshift: "<<",
    operator.rshift: ">>", operator.and_: "&", operator.or_: "|", operator.xor: "^",
    operator.matmul: "@", operator.eq: "==", operator.ne: "!=", operator.lt: "<",
    operator.gt: ">", operator.le: "<=", operator.ge: ">=",
}  # fmt: skip
PREFIX_OPS = {operator.neg: "-", operator.pos: "+", operator.inv: "~", operator.invert: "~"}

# names generated code always refers to, so no node may take them
RESERVED_NAMES = frozenset({"self", "ember", "operator", "builtins", "inf", "nan", "device"})


def _lookup(table, target):
    """table.get(target), None for unhashable targets (callable objects without __hash__)."""
    try:
        return table.get(target)
    except TypeError:
        return None


def _is_illegal(name):
    return name in RESERVED_NAMES or keyword.iskeyword(name) or hasattr(builtins, name)


class Namespace:
    """Hands out unique, legal Python identifiers: add, add_1, add_2, ..."""

    def __init__(self):
        self._used = set()
        self._next_suffix = {}
        self._by_object = {}

    def create_name(self, candidate, obj=None):
        if obj is not None and id(obj) in self._by_object:
            return self._by_object[id(obj)]
        candidate = re.sub(r"[^0-9a-zA-Z_]+", "_", candidate) or "_unnamed"
        if candidate[0].isdigit():
            candidate = "_" + candidate
        if candidate in self._used or _is_illegal(candidate):
            match = re.fullmatch(r"(.*)_(\d+)", candidate)
            base = match.group(1) if match else candidate
            num = self._next_suffix.get(base, 1)
            while f"{base}_{num}" in self._used or _is_illegal(f"{base}_{num}"):
                num += 1
            self._next_suffix[base] = num + 1
            candidate = f"{base}_{num}"
        self._used.add(candidate)
        if obj is not None:
            self._by_object[id(obj)] = candidate
        return candidate

    def mark_used(self, name):
        self._used.add(name)

    def is_used(self, name):
        return name in self._used


def snake_case(name):
    """CamelCase -> camel_case, as node names derived from targets are written."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _unwrapped(fn):
    """The ember function itself when fn is its recording stand-in during tracing."""
    return getattr(fn, "__fx_original__", fn)


def _ember_path(fn):
    """The dotted path ember code reaches fn by: 'ember.x', 'ember.nn.functional.x', or its
    defining ember module's path; None for functions outside ember."""
    name = getattr(fn, "__name__", None)
    if not name:
        return None
    if _unwrapped(getattr(ember, name, None)) is fn:
        return f"ember.{name}"
    functional = sys.modules.get("ember.nn.functional")
    if functional is not None and _unwrapped(getattr(functional, name, None)) is fn:
        return f"ember.nn.functional.{name}"
    module_name = getattr(fn, "__module__", None) or ""
    qualname = getattr(fn, "__qualname__", "")
    module = sys.modules.get(module_name)
    if module_name.startswith("ember.") and module is not None and "<" not in qualname:
        obj = module
        for part in qualname.split("."):
            obj = getattr(obj, part, None)
        if obj is fn:
            return f"{module_name}.{qualname}"
    return None


def printable_target_name(target):
    """How a call_function target is named in print(graph): operator.add, ember.relu, ..."""
    path = _ember_path(target)
    if path:
        return path
    module = getattr(target, "__module__", None) or "builtins"
    if module == "_operator":
        module = "operator"
    return f"{module}.{getattr(target, '__qualname__', getattr(target, '__name__', repr(target)))}"


def _is_identifier(name):
    return name.isidentifier() and not keyword.iskeyword(name)


def attr_path_code(root, dotted):
    """self.a.b, or getattr(self.a, "0") for parts that are not identifiers."""
    code = root
    for part in dotted.split("."):
        code = f"{code}.{part}" if _is_identifier(part) else f'getattr({code}, "{part}")'
    return code


class PythonCode:
    """Generated source (``src``) and the globals it must be executed in (``globals``)."""

    def __init__(self, src, globals_):
        self.src = src
        self.globals = globals_


class _Emitter:
    """Writes one graph's forward function; one instance per python_code() call."""

    def __init__(self, graph):
        self.graph = graph
        self.namespace = Namespace()
        for node in graph.nodes:
            self.namespace.mark_used(node.name)
        self.globals = {"ember": ember, "operator": operator, "builtins": builtins}
        self.globals["inf"], self.globals["nan"] = float("inf"), float("nan")
        self.globals["device"] = ember.device

    def global_name(self, obj):
        """A name generated code can use for obj, registering obj as a global if needed."""
        if getattr(obj, "__module__", None) == "_operator":
            return f"operator.{obj.__name__}"
        if (
            isinstance(obj, types.BuiltinFunctionType)
            and getattr(builtins, obj.__name__, None) is obj
        ):
            return obj.__name__
        path = _ember_path(obj)
        if path:
            return path
        qualname = getattr(obj, "__qualname__", getattr(obj, "__name__", "fn"))
        module = getattr(obj, "__module__", None)
        candidate = f"{module}_{qualname}" if module else qualname  # __main___my_fn, as torch
        name = self.namespace.create_name(candidate, obj)
        self.globals[name] = obj
        return name

    def arg(self, a):
        """Python expression for an argument value."""
        if isinstance(a, Node):
            return a.name
        if isinstance(a, tuple) and hasattr(a, "_fields"):
            fields = ", ".join(self.arg(x) for x in a)
            return f"{self.global_name(type(a))}({fields})"
        if isinstance(a, tuple):
            inner = ", ".join(self.arg(x) for x in a)
            return f"({inner},)" if len(a) == 1 else f"({inner})"
        if isinstance(a, list):
            return "[" + ", ".join(self.arg(x) for x in a) + "]"
        if isinstance(a, dict):
            return "{" + ", ".join(f"{self.arg(k)}: {self.arg(v)}" for k, v in a.items()) + "}"
        if isinstance(a, slice):
            return f"slice({self.arg(a.start)}, {self.arg(a.stop)}, {self.arg(a.step)})"
        if isinstance(a, ember.dtype):  # not repr(a): that reads torch.x under ``ember run``
            return f"ember.{a.name}"
        if isinstance(a, ember.device):
            return f"device({a.type!r})" if a.index is None else f"device({a.type!r}, {a.index})"
        if isinstance(a, float) and a != a:
            return "nan"
        if isinstance(a, float) and a in (float("inf"), float("-inf")):
            return "inf" if a > 0 else "-inf"
        if a is None or a is Ellipsis or isinstance(a, (bool, int, float, complex, str, bytes)):
            return repr(a)
        if isinstance(a, range):
            return repr(a)
        if callable(a) or isinstance(a, type):
            return self.global_name(a)
        name = self.namespace.create_name(snake_case(type(a).__name__) + "_const", a)
        self.globals[name] = a
        return name

    def call_args(self, args, kwargs):
        parts = [self.arg(a) for a in args]
        parts += [f"{k} = {self.arg(v)}" for k, v in kwargs.items()]
        return ", ".join(parts)

    def node_expr(self, node):
        """The right-hand side for one node (None for placeholders)."""
        op, target, args, kwargs = node.op, node.target, node.args, node.kwargs
        if op == "get_attr":
            return attr_path_code("self", target)
        if op == "call_module":
            return f"{attr_path_code('self', target)}({self.call_args(args, kwargs)})"
        if op == "call_method":
            return f"{self.arg(args[0])}.{target}({self.call_args(args[1:], kwargs)})"
        if op == "call_function":
            infix, prefix = _lookup(INFIX_OPS, target), _lookup(PREFIX_OPS, target)
            if infix and len(args) == 2 and not kwargs:
                return f"{self.arg(args[0])} {infix} {self.arg(args[1])}"
            if prefix and len(args) == 1 and not kwargs:
                return f"{prefix}{self.arg(args[0])}"
            if target is operator.getitem and len(args) == 2 and not kwargs:
                return f"{self.arg(args[0])}[{self.arg(args[1])}]"
            if (
                target is builtins.getattr
                and len(args) == 2
                and not kwargs
                and isinstance(args[1], str)
                and _is_identifier(args[1])
            ):
                return f"{self.arg(args[0])}.{args[1]}"
            return f"{self.global_name(target)}({self.call_args(args, kwargs)})"
        raise RuntimeError(f"python_code: unexpected node op {op!r} for node {node.name}")

    def signature(self):
        params = []
        for node in self.graph.nodes:
            if node.op != "placeholder":
                continue
            if node.target.startswith("*"):
                params.append(node.target)
            elif node.args:
                params.append(f"{node.name} = {self.arg(node.args[0])}")
            else:
                params.append(node.name)
        return ", ".join(["self"] + params)

    def body(self):
        nodes = list(self.graph.nodes)
        last_use = {}
        for node in nodes:
            for inp in node.all_input_nodes:
                last_use[inp] = node
        freed_at = {}
        for node in nodes:
            freed_at[node] = [n for n in node.all_input_nodes if last_use[n] is node]
        lines = []
        for node in nodes:
            if node.op == "placeholder":
                if node.target.startswith("*"):  # def forward(self, *args): _args = args
                    lines.append(f"{node.name} = {node.target.lstrip('*')}")
                continue
            if node.op == "output":
                lines.append(f"return {self.arg(node.args[0])}")
                continue
            line = f"{node.name} = {self.node_expr(node)}"
            free = [n.name for n in freed_at.get(node, [])]
            if not node.users:
                free.append(node.name)
            if free:
                line += ";  " + " = ".join(free) + " = None"
            lines.append(line)
        return lines or ["pass"]


def python_code(graph, root_module="self"):
    """Source of ``def forward(self, ...)`` that runs graph eagerly, and its globals."""
    emitter = _Emitter(graph)
    body = emitter.body()
    header = f"def forward({emitter.signature()}):"
    src = "\n\n\n" + header + "\n" + "\n".join("    " + line for line in body) + "\n    "
    return PythonCode(src, emitter.globals)
