"""Convolutions whose weight outweighs the input's patches: one product that reads the weight in
place (`ember.backends.numpy.conv_weight_bound`), against torch 2.13."""

import numpy as np
import pytest
import torch

import ember
from ember.backends.numpy import conv_weight_bound
from ember.backends.registry import DECLINE

RTOL, ATOL = 1e-4, 1e-4  # float32 sums of up to 4608 products, in another order than torch's

# (batch, in channels, size, out channels, kernel, stride, padding, dilation): each weight has
# at least four times as many elements as the column matrix of its input
WEIGHT_BOUND = [
    (1, 64, 4, 64, 3, 1, 1, 1),
    (2, 32, 4, 64, 3, 2, 1, 1),
    (1, 32, 3, 48, 1, 1, 0, 1),
    (1, 16, 7, 256, 3, 1, 2, 2),
    (1, 24, 5, 96, (3, 2), (2, 1), (0, 1), 1),
]


def _inputs(n, c, size, o, k, dtype, seed=0):
    rng = np.random.default_rng(seed)
    kh, kw = (k, k) if isinstance(k, int) else k
    x = rng.standard_normal((n, c, size, size)).astype(dtype)
    w = rng.standard_normal((o, c, kh, kw)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    return x, w, b


def _pairs(value):
    return (value, value) if isinstance(value, int) else tuple(value)


@pytest.mark.parametrize("case", WEIGHT_BOUND)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_kernel_matches_torch_where_the_weight_outweighs_the_columns(case, dtype):
    n, c, size, o, k, stride, padding, dilation = case
    x, w, b = _inputs(n, c, size, o, k, dtype)
    got = conv_weight_bound.conv2d(x, w, b, _pairs(stride), _pairs(padding), _pairs(dilation), 1)
    assert got is not DECLINE
    want = torch.nn.functional.conv2d(
        torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride, padding, dilation
    )
    assert got.dtype == dtype
    np.testing.assert_allclose(got, want.numpy(), rtol=RTOL, atol=ATOL)


def test_the_kernel_declines_where_the_columns_outweigh_the_weight_or_groups_split_it():
    x, w, b = _inputs(1, 8, 16, 8, 3, np.float32)
    assert conv_weight_bound.conv2d(x, w, b, (1, 1), (1, 1), (1, 1), 1) is DECLINE
    x, w, b = _inputs(1, 64, 4, 64, 3, np.float32)
    grouped = w[:, :32]
    assert conv_weight_bound.conv2d(x, grouped, b, (1, 1), (1, 1), (1, 1), 2) is DECLINE


def test_a_channels_last_input_gives_torchs_result():
    x, w, b = _inputs(2, 64, 4, 64, 3, np.float32)
    x_last = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    got = conv_weight_bound.conv2d(x_last, w, b, (1, 1), (0, 0), (1, 1), 1)
    want = torch.nn.functional.conv2d(*map(torch.from_numpy, (x, w, b)))
    np.testing.assert_allclose(got, want.numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("train", [False, True], ids=["inference", "training"])
def test_a_layer_on_small_maps_matches_torch_in_inference_and_training(train):
    """A ResNet-style last stage at batch 1: the forward on this kernel (no weight gradient:
    the reusing kernel; training: the plain one), the backward on the other backends."""
    x, _, _ = _inputs(1, 64, 4, 64, 3, np.float32, seed=1)
    torch.manual_seed(0)
    tconv = torch.nn.Conv2d(64, 64, 3, padding=1)
    econv = ember.nn.Conv2d(64, 64, 3, padding=1)
    econv.load_state_dict(
        {k: ember.tensor(v.detach().numpy()) for k, v in tconv.state_dict().items()}
    )
    tx, ex = torch.tensor(x, requires_grad=train), ember.tensor(x, requires_grad=train)
    if not train:
        with torch.no_grad(), ember.no_grad():
            np.testing.assert_allclose(econv(ex).numpy(), tconv(tx).numpy(), rtol=RTOL, atol=ATOL)
        return
    tconv(tx).square().sum().backward()
    econv(ex).square().sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=RTOL, atol=1e-3)
    np.testing.assert_allclose(
        econv.weight.grad.numpy(), tconv.weight.grad.numpy(), rtol=RTOL, atol=1e-3
    )


def test_the_layer_runs_on_this_kernel(monkeypatch):
    calls = []
    real = conv_weight_bound.conv2d

    def counted(*args):
        out = real(*args)
        calls.append(out is not DECLINE)
        return out

    monkeypatch.setattr(conv_weight_bound, "conv2d", counted)
    conv = ember.nn.Conv2d(64, 64, 3, padding=1).eval()
    with ember.no_grad():
        conv(ember.randn(1, 64, 4, 4))
    assert calls == [True]
