"""The embedding backward sums picked rows with a sparse product: same values as np.add.at
and as PyTorch."""

import numpy as np
import pytest
import torch

import ember
from ember.backends.numpy.scatter_rows import sum_rows_into


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("rows,picks,width", [(10, 100, 4), (1000, 1600, 8), (5, 3, 1), (7, 0, 3)])
def test_sum_rows_into_equals_add_at_bit_for_bit(dtype, rows, picks, width):
    rng = np.random.default_rng(rows + picks)
    index = rng.integers(0, rows, picks)
    g = rng.standard_normal((picks, width)).astype(dtype)
    expected = np.zeros((rows, width), dtype)
    np.add.at(expected, index, g)
    got = sum_rows_into((rows, width), index, g)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"padding_idx": 3},
        {"scale_grad_by_freq": True},
        {"padding_idx": 0, "scale_grad_by_freq": True},
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_embedding_weight_grad_matches_torch(kwargs, dtype):
    rng = np.random.default_rng(1)
    weight = rng.standard_normal((20, 6))
    idx = rng.integers(0, 20, (4, 7, 3))
    idx[0, 0, 0] = 3
    idx[1, 0, 0] = 0
    upstream = rng.standard_normal((4, 7, 3, 6))
    grads = []
    for lib in (ember, torch):
        w = lib.tensor(weight, dtype=getattr(lib, dtype), requires_grad=True)
        out = lib.nn.functional.embedding(lib.tensor(idx), w, **kwargs)
        (out * lib.tensor(upstream, dtype=getattr(lib, dtype))).sum().backward()
        grads.append(w.grad.detach().numpy())
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(grads[0], grads[1], rtol=tol, atol=tol)
