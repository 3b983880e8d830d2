"""``scatter_reduce`` and ``index_reduce`` with ``reduce="mean"`` on integer tensors floor the
mean (-3 / 2 is -2), as PyTorch does, with and without ``include_self``, and stay exact for
int64 values beyond float64's 53 bits."""

import warnings

import numpy as np
import pytest
import torch

import ember

SELF = np.array([-5, 3, -7, 10, 0, 9])
SOURCE = np.array([-4, 1, -9, 2, 6, -1, -3, 8])
INDEX = np.array([0, 0, 1, 2, 2, 4, 4, 4])


def _scatter(m, dtype, include_self):
    x = m.tensor(SELF).to(getattr(m, dtype))
    src = m.tensor(SOURCE).to(getattr(m, dtype))
    return x.scatter_reduce(0, m.tensor(INDEX), src, "mean", include_self=include_self).tolist()


def _index(m, dtype, include_self):
    x = m.tensor(SELF).to(getattr(m, dtype))
    src = m.tensor(SOURCE).to(getattr(m, dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch: index_reduce is in beta
        return x.index_reduce(0, m.tensor(INDEX), src, "mean", include_self=include_self).tolist()


@pytest.mark.parametrize("reduce_fn", [_scatter, _index], ids=["scatter_reduce", "index_reduce"])
@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "int8", "uint8", "float32"])
@pytest.mark.parametrize("include_self", [True, False])
def test_mean_matches_torch(reduce_fn, dtype, include_self):
    assert reduce_fn(ember, dtype, include_self) == reduce_fn(torch, dtype, include_self)


def test_int64_mean_is_exact_beyond_float64():
    def run(m):
        x = m.tensor([2**60 + 1, -(2**61) - 3])
        src = m.tensor([2**60 + 4, -(2**61)])
        return x.scatter_reduce(0, m.tensor([0, 1]), src, "mean").tolist()

    assert run(ember) == run(torch)


def test_mean_gradient_matches_torch():
    def run(m):
        x = m.tensor(SELF.astype(np.float64), requires_grad=True)
        src = m.tensor(SOURCE.astype(np.float64), requires_grad=True)
        out = x.scatter_reduce(0, m.tensor(INDEX), src, "mean", include_self=False)
        (out * m.arange(6.0, dtype=m.float64)).sum().backward()
        return x.grad.tolist(), src.grad.tolist()

    assert run(ember) == run(torch)
