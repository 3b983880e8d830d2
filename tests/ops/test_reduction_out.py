"""``out=`` on reductions, cumsum and matrix products, against PyTorch: values, the dtype the
result takes from ``out``, and the errors."""

import numpy as np
import pytest
import torch

import ember

X = np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5
XI = np.arange(6).reshape(2, 3) - 2

CASES = {
    "sum_dim": (X, lambda m, x, o: m.sum(x, 0, out=o), (3,), "float32"),
    "sum_keepdim": (X, lambda m, x, o: m.sum(x, 1, True, out=o), (2, 1), "float32"),
    "sum_into_float64": (X, lambda m, x, o: m.sum(x, 0, out=o), (3,), "float64"),
    "sum_float_into_int64": (X, lambda m, x, o: m.sum(x, 0, out=o), (3,), "int64"),
    "sum_int_into_float": (XI, lambda m, x, o: m.sum(x, 1, out=o), (2,), "float32"),
    "mean_dim": (X, lambda m, x, o: m.mean(x, 1, out=o), (2,), "float32"),
    "mean_all": (X, lambda m, x, o: m.mean(x, out=o), (), "float32"),
    "mean_into_float64": (X, lambda m, x, o: m.mean(x, 1, out=o), (2,), "float64"),
    "prod_dim": (X, lambda m, x, o: m.prod(x, 1, out=o), (2,), "float32"),
    "amax": (X, lambda m, x, o: m.amax(x, 1, out=o), (2,), "float32"),
    "amin": (X, lambda m, x, o: m.amin(x, 0, out=o), (3,), "float32"),
    "cumsum": (X, lambda m, x, o: m.cumsum(x, 1, out=o), (2, 3), "float32"),
    "cumsum_into_float64": (X, lambda m, x, o: m.cumsum(x, 1, out=o), (2, 3), "float64"),
    "mm": (X, lambda m, x, o: m.mm(x, x.T, out=o), (2, 2), "float32"),
    "addmm": (X, lambda m, x, o: m.addmm(m.ones(2, 2), x, x.T, beta=2, out=o), (2, 2), "float32"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_out_matches_torch(name):
    x, fn, shape, dtype = CASES[name]
    results = []
    for m in (ember, torch):
        out = m.full(shape, 7, dtype=getattr(m, dtype))
        r = fn(m, m.tensor(x), out)
        assert r is out
        results.append(out)
    ours, theirs = results
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


ERRORS = {
    "sum_without_dim": (lambda m, x: m.sum(x, out=m.empty(())), TypeError),
    "prod_without_dim": (lambda m, x: m.prod(x, out=m.empty(())), TypeError),
    "amax_other_dtype": (lambda m, x: m.amax(x, 1, out=m.empty(2, dtype=m.float64)), RuntimeError),
    "mm_other_dtype": (lambda m, x: m.mm(x, x.T, out=m.empty(2, 2, dtype=m.float64)), RuntimeError),
    "sum_needs_grad": (
        lambda m, x: m.sum(x.requires_grad_(), 0, out=m.empty(3)),
        RuntimeError,
    ),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_out_errors_match_torch(name):
    fn, error = ERRORS[name]
    for m in (ember, torch):
        with pytest.raises(error):
            fn(m, m.tensor(X))
