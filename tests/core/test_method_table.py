"""Tensor methods and operators are bound in one place, ember/_ops/_methods.py."""

import ast
import pathlib

import numpy as np
import pytest
import torch

import ember
from ember._ops import _methods

EMBER = pathlib.Path(ember.__file__).parent
TABLE = EMBER / "_ops" / "_methods.py"


def _is_tensor(node):
    """``Tensor`` or ``<anything>.Tensor`` (``ember.Tensor``, ``_tensor.Tensor``)."""
    return (isinstance(node, ast.Name) and node.id == "Tensor") or (
        isinstance(node, ast.Attribute) and node.attr == "Tensor"
    )


def _bindings(tree):
    """(line, text) of every statement that sets an attribute on Tensor: ``Tensor.x = ...``,
    ``Tensor.x += ...``, ``setattr(Tensor, ...)`` (which also catches decorators that bind)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                for sub in ast.walk(t):
                    if isinstance(sub, ast.Attribute) and _is_tensor(sub.value):
                        found.append((node.lineno, ast.unparse(sub)))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setattr":
            if node.args and _is_tensor(node.args[0]):
                found.append((node.lineno, ast.unparse(node)))
    return found


def test_scan_finds_each_form_of_binding():
    source = (
        "Tensor.a = 1\nember.Tensor.b = 2\nsetattr(Tensor, 'c', 3)\n"
        "def deco(fn):\n    setattr(Tensor, fn.__name__, fn)\n    return fn\n"
        "x.Tensor_like = 4\nsetattr(other, 'd', 5)\n"
    )
    lines = [line for line, _ in _bindings(ast.parse(source))]
    assert lines == [1, 2, 3, 5]


def test_no_file_but_the_table_binds_tensor_attributes():
    offenders = []
    for path in sorted(EMBER.rglob("*.py")):
        if path == TABLE:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        offenders += [f"{path.relative_to(EMBER.parent)}:{n}: {s}" for n, s in _bindings(tree)]
    assert not offenders, "Tensor attributes bound outside _ops/_methods.py:\n" + "\n".join(
        offenders
    )


def test_hash_is_defined_once_in_the_class():
    tree = ast.parse((EMBER / "_tensor.py").read_text())
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Tensor"]
    hashes = [n for n in cls.body if getattr(n, "name", None) == "__hash__"]
    assert len(hashes) == 1
    assert all("__hash__" not in t for t in vars(_methods).values() if isinstance(t, dict))
    a, b = ember.tensor([1.0]), ember.tensor([1.0])
    assert len({a, b}) == 2 and bool((a == b).all())  # hashed by identity, compared by value


_TABLES = {
    name: table
    for name, table in vars(_methods).items()
    if name.isupper() and isinstance(table, dict) and name not in ("IN_PLACE_BINARY", "IN_PLACE")
}


@pytest.mark.parametrize("table", sorted(_TABLES))
def test_each_table_entry_is_what_tensor_has(table):
    wrong = [n for n, fn in _TABLES[table].items() if vars(ember.Tensor).get(n) is not fn]
    assert not wrong


def test_in_place_methods_carry_their_names():
    for table in (_methods.IN_PLACE_BINARY, _methods.IN_PLACE):
        assert all(getattr(ember.Tensor, name).__name__ == name for name in table)


@pytest.mark.parametrize("name", ["add_", "sub_", "mul_", "div_", "pow_", "atan2_", "hypot_",
                                  "fmod_", "remainder_", "clamp_min_", "lt_"])  # fmt: skip
def test_in_place_method_writes_what_torch_writes(name):
    x = np.arange(1.0, 7.0, dtype=np.float32).reshape(2, 3)
    y = np.full((2, 3), 2.5, np.float32)
    e, t = ember.tensor(x.copy()), torch.tensor(x.copy())
    assert getattr(e, name)(ember.tensor(y)) is e
    getattr(t, name)(torch.tensor(y))
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6)
    assert e._version == 1
