"""ember.nn and ember.optim are written over tensors: no NumPy import, no reach into ``._data``.

Arrays belong to the op library (``ember._ops``) and the backends; layers, initialisers and
optimizers call ember ops, so they run unchanged on every backend the ops serve.
"""

import ast
from pathlib import Path

import pytest

import ember

PACKAGE = Path(ember.__file__).parent
LAYERS = ("nn", "optim")
# Data-parallel training and SyncBatchNorm exchange raw arrays with the communication layer.
EXEMPT = {"nn/parallel/distributed.py", "nn/modules/sync_batchnorm.py"}


def _array_level_uses(source):
    """(line, what) for each NumPy import and each ``._data`` in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            names = []
        found += [(node.lineno, f"imports {n}") for n in names if n.split(".")[0] == "numpy"]
    for number, line in enumerate(source.splitlines(), 1):
        if "._data" in line:
            found.append((number, "mentions ._data"))
    return sorted(found)


def _layer_files():
    for layer in LAYERS:
        for path in sorted((PACKAGE / layer).rglob("*.py")):
            name = path.relative_to(PACKAGE).as_posix()
            if name not in EXEMPT:
                yield name, path


def test_the_check_finds_numpy_imports_and_array_access():
    source = "import numpy as np\nfrom numpy.linalg import qr\nx = t._data\n"
    assert _array_level_uses(source) == [
        (1, "imports numpy"),
        (2, "imports numpy.linalg"),
        (3, "mentions ._data"),
    ]
    assert _array_level_uses("from ember._ops import creation\nlayer_data = 1\n") == []


def test_the_layers_are_found():
    names = [name for name, _ in _layer_files()]
    assert "nn/init.py" in names and "optim/optimizer.py" in names
    assert not EXEMPT & set(names)


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_is_written_over_tensors(layer):
    offenders = [
        f"ember/{name}:{line}: {what}"
        for name, path in _layer_files()
        if name.startswith(layer + "/")
        for line, what in _array_level_uses(path.read_text())
    ]
    assert not offenders, "\n".join(offenders)
