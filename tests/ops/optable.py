"""The op table runner: one declarative row per op, checked against PyTorch.

A row names the op (``fn(lib, *tensors)`` runs it in either library), sample inputs as NumPy
arrays, and what to check. ``check_row`` compares, for ember and torch on the same inputs:
forward values and dtype, gradients of a random weighted sum of the outputs, gradcheck in
float64 against finite differences, and double backward where the row asks for it.
"""

from dataclasses import dataclass, field

import numpy as np
import torch

import ember


@dataclass
class Row:
    name: str
    fn: object  # fn(lib, *tensors) -> tensor or tuple of tensors
    inputs: list  # list of tuples of NumPy arrays (one tuple per sample)
    grad: bool = True  # differentiable in the float inputs
    gradcheck: bool = True
    double_backward: bool = False
    dtypes: tuple = ("float32", "float64")
    rtol: float = 1e-5
    atol: float = 1e-6
    nondiff_args: tuple = field(default_factory=tuple)  # indices of inputs not to differentiate

    def __str__(self):
        return self.name


def _outputs(out):
    if isinstance(out, tuple | list):
        return [o for o in out if hasattr(o, "shape")]
    return [out]


def _make(lib, arrays, dtype, row, requires_grad):
    ts = []
    for i, a in enumerate(arrays):
        if a.dtype.kind == "f":
            a = a.astype(dtype)
        t = lib.tensor(a)
        if requires_grad and a.dtype.kind == "f" and i not in row.nondiff_args:
            t.requires_grad_(True)
        ts.append(t)
    return ts


def _np(t):
    t = t.detach()
    if str(t.dtype).endswith("bfloat16"):
        t = t.float()
    return t.numpy()


def check_forward(row, arrays, dtype):
    ref = _outputs(row.fn(torch, *_make(torch, arrays, dtype, row, False)))
    got = _outputs(row.fn(ember, *_make(ember, arrays, dtype, row, False)))
    assert len(ref) == len(got), f"{row.name}: {len(got)} outputs, torch gives {len(ref)}"
    for r, g in zip(ref, got):
        assert str(g.dtype).split(".")[-1] == str(r.dtype).split(".")[-1], (
            f"{row.name}: dtype {g.dtype} vs torch {r.dtype}"
        )
        assert tuple(g.shape) == tuple(r.shape), f"{row.name}: shape {g.shape} vs {r.shape}"
        np.testing.assert_allclose(_np(g), _np(r), rtol=row.rtol, atol=row.atol, err_msg=row.name)


def check_backward(row, arrays, dtype):
    rng = np.random.default_rng(1)
    grads = []
    weights = None
    for lib in (torch, ember):
        ts = _make(lib, arrays, dtype, row, True)
        outs = [o for o in _outputs(row.fn(lib, *ts)) if o.requires_grad]
        if not outs:
            return
        if weights is None:
            weights = [rng.standard_normal(tuple(o.shape)).astype(dtype) for o in outs]
        total = sum((o * lib.tensor(w)).sum() for o, w in zip(outs, weights))
        diff = [t for t in ts if t.requires_grad]
        gs = lib.autograd.grad(total, diff, allow_unused=True)
        grads.append([None if g is None else _np(g) for g in gs])
    for r, g in zip(*grads):
        if r is None:
            assert g is None or not np.any(g), f"{row.name}: gradient where torch has none"
            continue
        np.testing.assert_allclose(g, r, rtol=row.rtol * 10, atol=row.atol * 10, err_msg=row.name)


def check_gradcheck(row, arrays):
    ts = _make(ember, arrays, "float64", row, True)
    n = len(ts)

    def f(*xs):
        return row.fn(ember, *xs[:n])

    assert ember.autograd.gradcheck(f, ts, eps=1e-6, atol=1e-5, rtol=1e-3), row.name
    if row.double_backward:
        assert ember.autograd.gradgradcheck(f, ts, eps=1e-6, atol=1e-5, rtol=1e-3), row.name


def check_row(row, arrays):
    for dtype in row.dtypes:
        check_forward(row, arrays, dtype)
        if row.grad and dtype in ("float32", "float64"):
            check_backward(row, arrays, dtype)
    if row.grad and row.gradcheck:
        check_gradcheck(row, arrays)


def cases(rows):
    """pytest parameters: one (row, sample) pair per sample input."""
    import pytest

    return [
        pytest.param(row, sample, id=f"{row.name}-{i}")
        for row in rows
        for i, sample in enumerate(row.inputs)
    ]
