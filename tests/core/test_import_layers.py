"""ember's modules import downwards only, the core has no import cycle, and every top-level
subpackage imports on its own in a fresh interpreter."""

import ast
import pathlib
import subprocess
import sys

import pytest

import ember

EMBER = pathlib.Path(ember.__file__).parent

# Lowest first. A module belongs to the layer of its longest matching prefix; "" is the rest.
LAYERS = [
    ("backends", ["ember.backends", "ember._runtime"]),
    ("core", ["ember._allocator", "ember._dtype", "ember._device", "ember._layout", "ember._meta",
              "ember._printing", "ember._subclasses", "ember._random", "ember._legacy_tensor_types",
              "ember._tensor", "ember.cuda", "ember.accelerator", "ember.amp"]),
    ("autograd", ["ember.autograd.engine", "ember.autograd.function", "ember.autograd.grad_mode",
                  "ember.autograd.anomaly_mode", "ember.autograd.inplace"]),
    ("ops", ["ember._ops"]),
    ("autograd-api", ["ember.autograd"]),  # the package, functional.py, gradcheck.py
    ("nn", ["ember.nn"]),
    ("optim", ["ember.optim"]),
    ("data", ["ember.utils.data"]),
    ("serialization", ["ember.serialization", "ember._serialization"]),
    ("rest", [""]),
    ("cli", ["ember.cli", "ember.__main__"]),
]  # fmt: skip

# Imports that the order above allows but that must not happen (importer, imported).
FORBIDDEN = [
    ("ember.serialization", "ember.nn"),
    ("ember._serialization", "ember.nn"),
    ("ember.optim", "ember.nn"),
]

# (importer prefix, imported prefix): why the import stays for now.
ALLOWED = {
    ("ember._ops.creation", "ember.multiprocessing.shared_memory"):
        "Tensor.share_memory_ / is_shared: the segments belong to ember.multiprocessing, "
        "which is imported on the call",
    ("ember.optim.swa_utils", "ember.nn"):
        "AveragedModel is an nn.Module, as torch.optim.swa_utils.AveragedModel is",
    ("ember.utils.data.distributed", "ember.distributed"):
        "DistributedSampler asks the process group for its rank and world size",
    ("ember.backends.cudnn", "ember.cuda"):
        "backends.cudnn.is_available asks ember.cuda whether a GPU is present",
}  # fmt: skip


def _starts(name, prefix):
    return prefix == "" or name == prefix or name.startswith(prefix + ".")


def layer(module):
    matches = [(len(p), i) for i, (_, ps) in enumerate(LAYERS) for p in ps if _starts(module, p)]
    return max(matches)[1]


def module_name(path):
    parts = list(path.relative_to(EMBER.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name):
    path = EMBER.parent / name.replace(".", "/")
    return path.with_suffix(".py").exists() or path.is_dir()


def imports(path):
    """(line, imported module, at module level) for every ember import in ``path``;
    ``from a import b`` names module ``a.b`` when b is a module, else ``a``."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []

    def visit(node, top):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((child.lineno, a.name, top) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parts = package.split(".")
                    parts = parts[: len(parts) - child.level + 1]
                    base = ".".join(parts + ([child.module] if child.module else []))
                for a in child.names:
                    sub = f"{base}.{a.name}"
                    found.append((child.lineno, sub if _is_module(sub) else base, top))
            functions = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            visit(child, top and not isinstance(child, functions))

    visit(ast.parse(path.read_text(), filename=str(path)), True)
    return [(n, m, top) for n, m, top in found if m.split(".")[0] == "ember"]


def _all_imports():
    for path in sorted(EMBER.rglob("*.py")):
        module = module_name(path)
        for line, imported, top in imports(path):
            yield module, line, imported, top


def _allowed(module, imported):
    return any(_starts(module, a) and _starts(imported, b) for a, b in ALLOWED)


def _wrong(module, imported):
    if imported == "ember":  # the torch-like namespace: for nn and above only
        return layer(module) < layer("ember.nn")
    if layer(imported) > layer(module):
        return True
    return any(_starts(module, a) and _starts(imported, b) for a, b in FORBIDDEN)


def test_layer_of_examples():
    assert layer("ember.backends.numpy.conv") == 0
    assert layer("ember._tensor") < layer("ember.autograd.engine") < layer("ember._ops.shape")
    assert layer("ember._ops.shape") < layer("ember.autograd.functional") < layer("ember.nn")
    assert layer("ember.vision.models") < layer("ember.cli.compat")


def test_scan_sees_function_level_and_relative_imports(tmp_path, monkeypatch):
    pkg = tmp_path / "ember" / "_ops"
    pkg.mkdir(parents=True)
    (pkg / "shape.py").write_text("")
    (pkg / "x.py").write_text(
        "from . import shape\ndef f():\n    from ember.nn import functional\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "EMBER", tmp_path / "ember")
    found = imports(pkg / "x.py")
    assert found == [(1, "ember._ops.shape", True), (3, "ember.nn", False)]
    assert _wrong("ember._ops.x", "ember.nn") and not _wrong("ember._ops.x", "ember._ops.shape")


def test_no_upward_imports():
    wrong = [
        f"{m}:{line} imports {imp} ({'module level' if top else 'in a function'})"
        for m, line, imp, top in _all_imports()
        if _wrong(m, imp) and not _allowed(m, imp)
    ]
    assert not wrong, "upward imports:\n" + "\n".join(wrong)


def test_allowlist_has_no_stale_entries():
    used = {(a, b) for m, _, imp, _ in _all_imports() for a, b in ALLOWED if _starts(m, a) and
            _starts(imp, b) and _wrong(m, imp)}  # fmt: skip
    assert set(ALLOWED) == used


def find_cycles(graph):
    """Cycles of a directed graph ``{node: set of successors}``, each as a list of nodes."""
    state, cycles = {}, []

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return cycles


def test_find_cycles():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]


def test_core_has_no_module_level_import_cycle():
    core = ("ember._ops", "ember.autograd")
    graph = {}
    for m, _, imp, top in _all_imports():
        if top and m != imp and any(_starts(m, c) for c in core):
            if any(_starts(imp, c) for c in core):
                graph.setdefault(m, set()).add(imp)
    assert len(graph) > 20  # the scan sees the core's modules
    cycles = find_cycles(graph)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


SUBPACKAGES = sorted(
    p.name for p in EMBER.iterdir() if (p / "__init__.py").exists() and not p.name.startswith(".")
)


@pytest.mark.parametrize("name", SUBPACKAGES)
def test_subpackage_imports_in_a_fresh_interpreter(name):
    r = subprocess.run(
        [sys.executable, "-c", f"import ember.{name}"], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr[-2000:]
