"""Gradients of leaky ReLU and abs in one oneDNN pass (`ember.backends.onednn.piecewise_grad`):
PyTorch's bits, special values included, the path asserted, and the fallbacks."""

import numpy as np
import pytest
import torch

import ember
from ember.backends.onednn import library, piecewise_grad

pytestmark = pytest.mark.skipif(not library.available(), reason="oneDNN is not installed")

SPECIAL = np.array(
    [np.nan, -np.nan, 0.0, -0.0, 1e-45, -1e-45, 1e-39, -1e-39, np.inf, -np.inf, 3e38, -3e38],
    np.float32,
)
N = (1 << 19) + 3


def _data(nan=True, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(N) * 3).astype(np.float32)
    g = rng.standard_normal(N).astype(np.float32)
    special = SPECIAL if nan else SPECIAL[2:]
    for sign, start in ((1, 0), (-1, 100)):  # each special value with g of either sign
        x[start : start + special.size] = special
        g[start : start + special.size] = sign * np.abs(g[start : start + special.size])
    return x.reshape(-1, 1), g.reshape(-1, 1)


def _grads(fn, x, g):
    ours, theirs = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    fn(ember, ours).backward(ember.tensor(g))
    fn(torch, theirs).backward(torch.tensor(g))
    return ours.grad.numpy(), theirs.grad.numpy()


def _assert_same_bits(ours, theirs):
    both_nan = np.isnan(ours) & np.isnan(theirs)
    differ = (ours.view(np.int32) != theirs.view(np.int32)) & ~both_nan
    assert not differ.any(), list(zip(ours[differ][:5], theirs[differ][:5]))


@pytest.fixture
def calls(monkeypatch):
    seen = []
    original = piecewise_grad._run

    def counted(*args):
        result = original(*args)
        seen.append(result is not None)
        return result

    monkeypatch.setattr(piecewise_grad, "_run", counted)
    return seen


@pytest.mark.parametrize("slope", [0.01, 0.2, 1.0])
def test_leaky_relu_gradient_is_torchs(slope, calls):
    x, g = _data()
    ours, theirs = _grads(lambda lib, t: lib.nn.functional.leaky_relu(t, slope), x, g)
    assert calls == [True]
    _assert_same_bits(ours, theirs)


@pytest.mark.parametrize("slope", [0.0, -0.1, 1.5])
def test_leaky_relu_slopes_outside_0_1_take_the_other_kernels(slope, calls):
    x, g = _data(nan=False)
    ours, theirs = _grads(lambda lib, t: lib.nn.functional.leaky_relu(t, slope), x, g)
    assert calls == []
    np.testing.assert_array_equal(ours, theirs)


def test_abs_gradient_is_torchs_and_nan_takes_the_composition(calls):
    x, g = _data(nan=False)
    ours, theirs = _grads(lambda lib, t: t.abs(), x, g)
    assert calls == [True]
    _assert_same_bits(ours, theirs)  # a zero x gives g * +0, of g's sign
    x, g = _data(nan=True, seed=1)
    ours, theirs = _grads(lambda lib, t: t.abs(), x, g)
    assert calls == [True]  # NaN: the check declines before the pass
    _assert_same_bits(ours, theirs)  # sign(NaN) is 0: g * 0 at NaN


def test_small_and_strided_gradients_decline(calls):
    x, g = _data(nan=False)
    small = x[: piecewise_grad.MIN_ELEMENTS - 1]
    ours, theirs = _grads(lambda lib, t: t.abs(), small, g[: small.size])
    np.testing.assert_array_equal(ours, theirs)
    assert piecewise_grad.leaky_relu(g[::2], x[::2], 0.01) is None
    assert piecewise_grad.sign_times(g[:-1], x) is None  # shapes differ
    assert calls == [False, False]
    assert piecewise_grad.leaky_relu(g.astype(np.float64), x.astype(np.float64), 0.01) is None
