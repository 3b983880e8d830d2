"""oneDNN's element-wise kernels against PyTorch's, values and special values."""

import numpy as np
import pytest
import torch

from ember.backends.onednn import eltwise, library

pytestmark = pytest.mark.skipif(not library.available(), reason="oneDNN is not installed")

SPECIAL = np.array(
    [np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-30, -1e-30, -5.0, -10.0, 5.5], np.float32
)
TORCH = {
    "gelu_erf": lambda t: torch.nn.functional.gelu(t),
    "gelu_tanh": lambda t: torch.nn.functional.gelu(t, approximate="tanh"),
}


def _inputs(n=1 << 17):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(n) * 3).astype(np.float32)
    x[: SPECIAL.size] = SPECIAL
    return x, rng.standard_normal(n).astype(np.float32)


@pytest.mark.parametrize("name", sorted(eltwise.ALGORITHMS))
def test_forward_and_backward_match_torch(name):
    x, g = _inputs()
    out = eltwise.forward(name, x)
    tx = torch.tensor(x, requires_grad=True)
    ty = TORCH[name](tx)
    np.testing.assert_allclose(out, ty.detach().numpy(), rtol=1e-5, atol=2e-6)
    (tg,) = torch.autograd.grad(ty, tx, torch.tensor(g))
    gx = eltwise.backward(name, g, x)
    # In the tails PyTorch's float32 derivative cancels to 0 where the true value is ~2e-6.
    np.testing.assert_allclose(gx, tg.numpy(), rtol=1e-5, atol=5e-6)


@pytest.mark.parametrize(
    "x",
    [
        np.ones(10, np.float32),  # too small to pay for the call
        np.ones(1 << 17, np.float64),
        np.ones((2, 1 << 17), np.float32)[:, ::2],  # not contiguous
    ],
    ids=["small", "float64", "strided"],
)
def test_declines_what_it_does_not_handle(x):
    assert eltwise.forward("gelu_erf", x) is None
    assert eltwise.backward("gelu_erf", x, x) is None
