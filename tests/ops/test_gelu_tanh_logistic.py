"""tanh-GELU as x * sigmoid(2u) on oneDNN's logistic: values, derivative and special values
against PyTorch and float64, on both of the paths a CPU may take."""

import numpy as np
import pytest
import torch

import ember
import ember.nn.functional as F
from ember.backends.onednn import gelu_tanh, library

pytestmark = pytest.mark.skipif(not library.available(), reason="oneDNN is not installed")

SPECIAL = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, -60.0, 60.0, 1e-30, -9.5, -5.0],
                   np.float32)  # fmt: skip


def _inputs(n=1 << 17):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(n) * 3).astype(np.float32)
    x[: SPECIAL.size] = SPECIAL
    return x, rng.standard_normal(n).astype(np.float32)


def _torch_gelu(x, g, dtype):
    t = torch.tensor(x, dtype=dtype, requires_grad=True)
    y = torch.nn.functional.gelu(t, approximate="tanh")
    y.backward(torch.tensor(g, dtype=dtype))
    return y.detach().numpy(), t.grad.numpy()


def test_values_and_derivative_as_accurate_as_pytorchs():
    x, g = _inputs()
    out, derivative = gelu_tanh.forward(x, with_derivative=True)
    y32, gx32 = _torch_gelu(x, g, torch.float32)
    y64, gx64 = _torch_gelu(x, g, torch.float64)
    finite = np.isfinite(x)
    for got, theirs, exact in ((out, y32, y64), (g * derivative, gx32, gx64)):
        ours_error = np.abs(got - exact)[finite].max()
        assert ours_error <= 1.2 * np.abs(theirs - exact)[finite].max() + 1e-7
        np.testing.assert_allclose(got, theirs, rtol=1e-5, atol=5e-6)
    # inf, -inf, NaN, signed zeros and the far negative tail as PyTorch gives them
    np.testing.assert_array_equal(np.isnan(out[: SPECIAL.size]), np.isnan(y32[: SPECIAL.size]))
    np.testing.assert_array_equal(np.signbit(out[:8]), np.signbit(y32[:8]))


@pytest.mark.parametrize("logistic", [True, False], ids=["logistic", "onednn-gelu"])
def test_gelu_tanh_op_matches_torch_on_either_path(logistic, monkeypatch):
    monkeypatch.setattr(gelu_tanh, "_preferred", logistic)
    x, g = _inputs()
    t = ember.tensor(x, requires_grad=True)
    y = F.gelu(t, approximate="tanh")
    y.backward(ember.tensor(g))
    expected_y, expected_grad = _torch_gelu(x, g, torch.float32)
    np.testing.assert_allclose(y.detach().numpy(), expected_y, rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(t.grad.numpy(), expected_grad, rtol=1e-5, atol=5e-6)
    with ember.no_grad():  # the forward alone, without the derivative
        np.testing.assert_allclose(F.gelu(ember.tensor(x), approximate="tanh").numpy(),
                                   expected_y, rtol=1e-5, atol=2e-6)  # fmt: skip


def test_taken_where_onednn_runs_avx2_code():
    x, _ = _inputs()
    kernel = gelu_tanh.eltwise.kernel_name("gelu_tanh", x)
    assert gelu_tanh.preferred(x) == ("avx512" not in kernel)
    assert not gelu_tanh.preferred(x[:100])  # too small for oneDNN
