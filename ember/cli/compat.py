"""``ember compat SCRIPT.py``: which torch APIs a script uses, and whether ember has them.

The script is read, never run: its syntax tree gives the names reached through ``torch`` and
``torchvision`` imports, and the attributes called on other values that are Tensor methods.
"""

import ast
import importlib
import os
import sys

_ROOTS = {"torch": "ember", "torchvision": "ember.vision"}


def add_parser(sub):
    p = sub.add_parser("compat", help="report which torch APIs a script uses that ember has")
    p.add_argument("script")
    p.set_defaults(run=run)


# Method names of Python's own containers (``list.index``, ``str.split``) are too ambiguous
# to count as Tensor methods when reading a script without running it.
_BUILTIN_METHODS = set().union(*(dir(t) for t in (list, dict, str, tuple, set, bytes)))


def tensor_method_names():
    path = os.path.join(os.path.dirname(__file__), "torch_tensor_methods.txt")
    with open(path) as f:
        return {line.strip() for line in f if line.strip()} - _BUILTIN_METHODS


class _Collector(ast.NodeVisitor):
    def __init__(self, methods):
        self.aliases = {}  # local name -> dotted torch name
        self.used = set()
        self.tensor_methods = set()
        self.methods = methods

    def visit_Import(self, node):
        for a in node.names:
            if a.name.partition(".")[0] in _ROOTS:
                if a.asname:
                    self.aliases[a.asname] = a.name
                else:
                    root = a.name.partition(".")[0]
                    self.aliases[root] = root
                self.used.add(a.name)

    def visit_ImportFrom(self, node):
        mod = node.module or ""
        if mod.partition(".")[0] in _ROOTS and node.level == 0:
            for a in node.names:
                self.aliases[a.asname or a.name] = f"{mod}.{a.name}"
                self.used.add(f"{mod}.{a.name}")

    def _dotted(self, node):
        parts = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in self.aliases:
            return ".".join([self.aliases[node.id], *reversed(parts)])
        return None

    def visit_Attribute(self, node):
        dotted = self._dotted(node)
        if dotted is not None:
            self.used.add(dotted)
            return
        if node.attr in self.methods:
            self.tensor_methods.add(node.attr)
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id in self.aliases:
            self.used.add(self.aliases[node.id])


def _available(dotted):
    root, _, rest = dotted.partition(".")
    target = _ROOTS[root] + ("." + rest if rest else "")
    parts = target.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for p in parts[i:]:
                obj = getattr(obj, p)
        except Exception:
            return False
        return True
    return False


def analyse(source):
    """(available, missing): sorted lists of the torch names a script uses."""
    import ember

    collector = _Collector(tensor_method_names())
    collector.visit(ast.parse(source))
    names = {
        n
        for n in collector.used
        if not any(other != n and other.startswith(n + ".") for other in collector.used)
    }
    results = {n: _available(n) for n in names}
    for m in collector.tensor_methods:
        results[f"Tensor.{m}"] = hasattr(ember.Tensor, m)
    have = sorted(n for n, ok in results.items() if ok)
    missing = sorted(n for n, ok in results.items() if not ok)
    return have, missing


def run(args):
    try:
        with open(args.script, "rb") as f:
            source = f.read()  # bytes: ast.parse honours a coding declaration
    except OSError as e:
        print(f"ember compat: error: cannot read {args.script}: {e.strerror}", file=sys.stderr)
        return 2
    try:
        have, missing = analyse(source)
    except (SyntaxError, ValueError) as e:  # ValueError: null bytes, on Python before 3.12
        print(f"ember compat: error: {args.script} is not valid Python: {e}", file=sys.stderr)
        return 2
    for n in have:
        print(f"  ok       {n}")
    for n in missing:
        print(f"  missing  {n}")
    total = len(have) + len(missing)
    summary = f"{len(have)} of {total} used APIs available"
    if missing:
        summary += "; missing: " + ", ".join(missing)
    print(summary)
    return 1 if missing else 0
