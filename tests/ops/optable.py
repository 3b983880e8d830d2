"""The op table runner: one declarative row per op, checked against PyTorch.

A row names the op (``fn(lib, *tensors)`` runs it in either library), sample inputs as NumPy
arrays, and what to check. ``check_row`` compares, for ember and torch on the same inputs:
forward values and dtype, gradients of a random weighted sum of the outputs, gradcheck in
float64 against finite differences, and double backward (against torch and by gradgradcheck)
where the row asks for it.

Float sample arrays are cast to each of the row's dtypes; integer and bool arrays keep their
dtype (so mixed rows check type promotion). A dtype of ``None`` keeps every array's own dtype.
A non-contiguous sample array (for example ``a.T``) becomes a tensor with the same strides in
both libraries, so ops are also checked on non-contiguous views.
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
    """The tensors of an op's result, flattening nested tuples (such as (values, indices))."""
    if isinstance(out, tuple | list):
        return [t for o in out for t in _outputs(o)]
    return [out] if hasattr(out, "shape") else []


def _make(lib, arrays, dtype, row, requires_grad, contiguous=False):
    ts = []
    for i, a in enumerate(arrays):
        bf16 = dtype == "bfloat16" and a.dtype.kind == "f"  # NumPy has no bfloat16 of its own
        if dtype is not None and a.dtype.kind == "f":
            a = a.astype("float32" if bf16 else dtype)  # keeps a transposed layout
        if contiguous or a.flags.c_contiguous:
            t = lib.tensor(a)
        else:
            t = lib.from_numpy(a.copy(order="K"))  # same strides, memory of its own
        if bf16:
            t = t.to(lib.bfloat16)
        if requires_grad and a.dtype.kind == "f" and i not in row.nondiff_args:
            t.requires_grad_(True)
        ts.append(t)
    return ts


def _np(t):
    t = t.detach()
    if str(t.dtype).endswith("bfloat16"):
        t = t.float()
    return t.numpy(force=True)  # torch's zero gradients may be a ZeroTensor


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


def _weighted_sum(lib, tensors, seed, dtype):
    """sum(t * w) over the tensors that require grad; the k-th tensor's weight depends only on
    ``seed + k``, so that both libraries weigh the same output alike even where one of them
    records no graph for another output (a sign, an index, a constant)."""
    terms = [
        (
            t
            * lib.tensor(
                np.random.default_rng(seed + k).standard_normal(tuple(t.shape)).astype(dtype)
            )
        ).sum()
        for k, t in enumerate(tensors)
        if t is not None and t.requires_grad
    ]
    return sum(terms) if terms else None


def _grads(lib, total, diff, **kwargs):
    if total is None:
        return [None] * len(diff)
    return list(lib.autograd.grad(total, diff, allow_unused=True, **kwargs))


def _compare(row, ref, got, what, rtol, atol):
    for r, g in zip(ref, got):
        if r is None or g is None:  # no gradient is right where the other one is zero
            other = r if g is None else g
            assert other is None or np.allclose(other, 0), f"{row.name}: {what} differs"
            continue
        np.testing.assert_allclose(g, r, rtol=rtol, atol=atol, err_msg=f"{row.name}: {what}")


def check_backward(row, arrays, dtype):
    grads = []
    for lib in (torch, ember):
        ts = _make(lib, arrays, dtype, row, True)
        total = _weighted_sum(lib, _outputs(row.fn(lib, *ts)), 100, dtype)
        diff = [t for t in ts if t.requires_grad]
        grads.append([None if g is None else _np(g) for g in _grads(lib, total, diff)])
    _compare(row, *grads, "gradient", row.rtol * 10, row.atol * 10)


def check_double_backward(row, arrays):
    """Second derivatives against torch: the gradient of a weighted sum of first gradients."""
    results = []
    for lib in (torch, ember):
        ts = _make(lib, arrays, "float64", row, True)
        total = _weighted_sum(lib, _outputs(row.fn(lib, *ts)), 100, "float64")
        diff = [t for t in ts if t.requires_grad]
        firsts = _grads(lib, total, diff, create_graph=True)
        second = _weighted_sum(lib, firsts, 200, "float64")
        results.append([None if g is None else _np(g) for g in _grads(lib, second, diff)])
    # A missing second derivative is right where torch's is zero (abs, floor, max, ...).
    _compare(row, *results, "second derivative", 1e-6, 1e-8)


def check_gradcheck(row, arrays):
    ts = _make(ember, arrays, "float64", row, True, contiguous=True)
    n = len(ts)

    def f(*xs):
        return tuple(_outputs(row.fn(ember, *xs[:n])))

    assert ember.autograd.gradcheck(f, ts, eps=1e-6, atol=1e-5, rtol=1e-3), row.name
    if row.double_backward:
        assert ember.autograd.gradgradcheck(f, ts, eps=1e-6, atol=1e-5, rtol=1e-3), row.name


def check_row(row, arrays):
    for dtype in row.dtypes:
        check_forward(row, arrays, dtype)
        if row.grad and dtype in ("float32", "float64"):
            check_backward(row, arrays, dtype)
    if row.grad and row.double_backward:
        check_double_backward(row, arrays)
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
