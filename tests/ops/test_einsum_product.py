"""Two-operand einsum lowered to one product: every kind of letter (batch, free on either
side, summed, outer products, scalar results), against NumPy's einsum and PyTorch's, with
gradients; what it leaves to NumPy's einsum still gives NumPy's result."""

import numpy as np
import pytest
import torch

import ember
from ember._ops import einsum_product

EQUATIONS = [
    ("bhid,bhjd->bhij", (4, 3, 20, 16), (4, 3, 24, 16)),  # attention's scores
    ("bhij,bhjd->bhid", (4, 3, 20, 24), (4, 3, 24, 16)),
    ("ij,jk->ki", (40, 30), (30, 50)),  # a transposed result
    ("bij,kj->bki", (3, 40, 30), (20, 30)),  # a shared right-hand matrix
    ("i,j->ij", (80,), (90,)),  # no summed letter: an outer product
    ("ij,ij->", (70, 80), (70, 80)),  # everything summed
    ("abc,cad->bd", (6, 7, 20), (20, 6, 40)),  # summed letters out of order
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("equation,sa,sb", EQUATIONS)
def test_lowered_equations_match_numpy(equation, sa, sb, dtype):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(sa).astype(dtype), rng.standard_normal(sb).astype(dtype)
    got = einsum_product.contract(equation, a, b)
    assert got is not None
    want = np.einsum(equation, a.astype(np.float64), b.astype(np.float64))
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)


@pytest.mark.parametrize(
    "equation,sa,sb",
    [
        ("ii,ij->j", (30, 30), (30, 40)),  # a diagonal
        ("ij,jk->k", (30, 40), (40, 50)),  # i is summed in the left operand alone
        ("ij,jk->ik", (1, 40), (40, 50)),  # fine, but smaller than MIN_MACS
    ],
)
def test_what_it_leaves_to_numpy(equation, sa, sb):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    assert einsum_product.contract(equation, a, b) is None
    ea, eb = ember.tensor(a), ember.tensor(b)
    np.testing.assert_allclose(ember.einsum(equation, ea, eb).numpy(), np.einsum(equation, a, b))
    ints = np.arange(1200).reshape(30, 40)
    assert einsum_product.contract("ij,jk->ik", ints, ints.T.copy()) is None


@pytest.mark.parametrize("equation,sa,sb", EQUATIONS[:5])
def test_einsum_and_its_gradients_match_torch(equation, sa, sb):
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal(sa).astype(np.float32), rng.standard_normal(sb).astype(np.float32)
    results = []
    shape = np.einsum(equation, a, b).shape
    g = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    for lib in (ember, torch):
        ta, tb = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        out = lib.einsum(equation, ta, tb)
        out.backward(lib.tensor(g))
        results.append([t.detach().numpy() for t in (out, ta.grad, tb.grad)])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_gradients_against_finite_differences(monkeypatch):
    monkeypatch.setattr(einsum_product, "MIN_MACS", 1)  # this small case is lowered too
    rng = np.random.default_rng(4)
    a = ember.tensor(rng.standard_normal((2, 3, 5, 4)), requires_grad=True)
    b = ember.tensor(rng.standard_normal((2, 3, 6, 4)), requires_grad=True)
    assert einsum_product.contract("bhid,bhjd->bhij", a._data, b._data) is not None
    assert ember.autograd.gradcheck(lambda x, y: ember.einsum("bhid,bhjd->bhij", x, y), (a, b))
