"""torch.special's orthogonal polynomials against torch: values for integer (and truncated
float) degrees, negative and large degrees, the interval's ends, NaN, dtypes and scalars."""

import numpy as np
import pytest
import torch

import ember

NAMES = [
    "chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
    "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u",
    "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w", "hermite_polynomial_h",
    "hermite_polynomial_he", "laguerre_polynomial_l", "legendre_polynomial_p",
]  # fmt: skip

RNG = np.random.default_rng(0)
X = np.concatenate([RNG.uniform(-1.5, 1.5, 60), [-1, 1, 0, 0.5, -0.5, np.nan, np.inf, -np.inf]])


def _compare(name, x, n, rtol, atol_scale):
    e = getattr(ember.special, name)(*(ember.tensor(v) if isinstance(v, np.ndarray) else v
                                       for v in (x, n))).numpy()  # fmt: skip
    t = getattr(torch.special, name)(*(torch.tensor(v) if isinstance(v, np.ndarray) else v
                                       for v in (x, n))).numpy()  # fmt: skip
    assert e.shape == t.shape and e.dtype == t.dtype, (e.shape, t.shape, e.dtype, t.dtype)
    finite = np.isfinite(t)
    np.testing.assert_array_equal(np.isnan(e), np.isnan(t))
    np.testing.assert_array_equal(e[np.isinf(t)], t[np.isinf(t)])
    scale = np.max(np.abs(t[finite]), initial=1.0)
    np.testing.assert_allclose(e[finite], t[finite], rtol=rtol, atol=atol_scale * scale)


@pytest.mark.parametrize("name", NAMES)
def test_values_float64(name):
    n = np.arange(-3, 40, dtype=np.float64)[None, :]
    _compare(name, X[:, None], n, 1e-9, 1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_values_float32_and_integer_degree_tensor(name):
    x = X.astype(np.float32)[:, None]
    n = np.arange(-2, 25, dtype=np.int64)[None, :]
    _compare(name, x, n, 2e-3, 1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_fractional_degree_truncates_and_scalars(name):
    x = RNG.uniform(-1, 1, 8)
    _compare(name, x, np.array([2.7, 3.2, -0.5, 0.9, 5.99, 7.5, 1.0, 12.3]), 1e-9, 1e-12)
    _compare(name, x, 4, 1e-9, 1e-12)
    _compare(name, 0.3, np.arange(0, 12), 1e-5, 1e-6)  # float32: the default dtype
    _compare(name, np.array([1, 2, 0]), np.array([3, 2, 5]), 1e-6, 1e-7)  # integer x


@pytest.mark.parametrize("name", NAMES)
def test_large_degrees(name):
    x = np.array([-0.99, -0.3, 0.0, 0.2, 0.7, 0.999, 1.0, -1.0, 1.01, 2.0])
    _compare(name, x[:, None], np.array([[100, 1000, 3001]], dtype=np.float64), 1e-7, 1e-10)


def test_no_gradient_as_torch():
    x = ember.tensor([0.3, 0.6], requires_grad=True)
    y = ember.special.legendre_polynomial_p(x, 3)
    assert not y.requires_grad


def test_errors():
    with pytest.raises(TypeError, match="chebyshev_polynomial_t"):
        ember.special.chebyshev_polynomial_t(0.5, 3)
    with pytest.raises(RuntimeError, match="hermite_polynomial_h"):
        ember.special.hermite_polynomial_h(ember.ones(3), ember.ones(2))
