"""``ember compat PATH``: which torch APIs a script (or every ``.py`` file under a folder, such
as a library's package directory) uses, and whether ember has them.

The files are read, never run: their syntax trees give the names reached through ``torch`` and
``torchvision`` imports, and the attributes called on other values that are Tensor methods.
"""

import ast
import importlib
import os
import sys

_ROOTS = {"torch": "ember", "torchvision": "ember.vision"}


def add_parser(sub):
    p = sub.add_parser(
        "compat", help="report which torch APIs a script (or a folder of them) uses that ember has"
    )
    p.add_argument("script", metavar="PATH", help="a Python file, or a folder to search for them")
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


def _read(path):
    with open(path, "rb") as f:
        return f.read()  # bytes: ast.parse honours a coding declaration


def _python_files(folder):
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.join(root, name)


def run(args):
    if os.path.isdir(args.script):
        return _run_folder(args.script)
    try:
        source = _read(args.script)
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


def _run_folder(folder):
    """Every Python file under ``folder``: each missing name with the files that use it."""
    have, missing, files, unreadable = set(), {}, 0, []
    for path in _python_files(folder):
        try:
            file_have, file_missing = analyse(_read(path))
        except (OSError, SyntaxError, ValueError):
            unreadable.append(path)
            continue
        files += 1
        have.update(file_have)
        for n in file_missing:
            missing.setdefault(n, []).append(os.path.relpath(path, folder))
    for n, users in sorted(missing.items(), key=lambda item: (-len(item[1]), item[0])):
        print(f"  missing  {n}  ({len(users)} file{'s' if len(users) > 1 else ''}: {users[0]}"
              f"{', ...' if len(users) > 1 else ''})")  # fmt: skip
    for path in unreadable:
        print(f"  skipped  {os.path.relpath(path, folder)} (not readable as Python)")
    total = len(have) + len(missing)
    print(f"{len(have)} of {total} used APIs available in {files} files under {folder}")
    return 1 if missing else 0
