"""ELU (and SELU, built on it) near zero: alpha expm1(x) as PyTorch computes it, not
alpha (exp(x) - 1), which cancels (exp(-1e-8) - 1 is 0), on both the oneDNN path of large
float32 tensors and the NumPy path of small ones; -0.0 stays -0.0."""

import numpy as np
import pytest
import torch

import ember
import ember.nn.functional as F


def _inputs(n):
    rng = np.random.default_rng(n)
    tiny = -np.geomspace(1e-40, 0.7, n // 2)
    wide = rng.standard_normal(n - n // 2 - 4) * 3
    x = np.concatenate([tiny, wide, [-0.0, 0.0, np.nan, -np.inf]]).astype(np.float32)
    return x[rng.permutation(x.size)]


def _max_ulp(got, x, alpha):
    exact = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0).astype(np.float64)))
    finite = np.isfinite(exact)
    spacing = np.spacing(np.abs(exact[finite]).astype(np.float32)).astype(np.float64)
    return (np.abs(got[finite] - exact[finite]) / spacing).max()


@pytest.mark.parametrize("n", [1000, (1 << 18) + 9])  # NumPy's path; oneDNN's
@pytest.mark.parametrize("alpha", [1.0, 0.3])
def test_elu_is_accurate_near_zero_and_as_torch(n, alpha):
    x = _inputs(n)
    ours = F.elu(ember.tensor(x), alpha).numpy()
    theirs = torch.nn.functional.elu(torch.tensor(x), alpha).numpy()
    assert _max_ulp(ours, x, np.float64(np.float32(alpha))) <= 3
    np.testing.assert_allclose(ours, theirs, rtol=3e-7, atol=0)
    np.testing.assert_array_equal(np.signbit(ours), np.signbit(theirs))


def test_selu_near_zero_as_torch():
    x = _inputs((1 << 18) + 9)
    ours = F.selu(ember.tensor(x)).numpy()
    theirs = torch.nn.functional.selu(torch.tensor(x)).numpy()
    # scale * elu rounds twice, PyTorch's scale * alpha once: a step apart among subnormals
    np.testing.assert_allclose(ours, theirs, rtol=5e-7, atol=1.5e-45)
