"""Gradients of leaky ReLU, abs and sigmoid in one oneDNN pass
(`ember.backends.onednn.chain_grad`): PyTorch's bits, special values included, the path
asserted, and the fallbacks."""

import numpy as np
import pytest
import torch

import ember
from ember.backends.onednn import chain_grad, library

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
def calls(count_calls):
    return count_calls(chain_grad, "_run_on")


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
    small = x[: chain_grad.MIN_ELEMENTS - 1]
    ours, theirs = _grads(lambda lib, t: t.abs(), small, g[: small.size])
    np.testing.assert_array_equal(ours, theirs)
    assert chain_grad.leaky_relu(g[::2], x[::2], 0.01) is None
    assert chain_grad.sign_times(g[:-1], x) is None  # shapes differ
    assert calls == [False, False]
    assert chain_grad.leaky_relu(g.astype(np.float64), x.astype(np.float64), 0.01) is None


def test_sigmoid_gradient_from_the_output_is_torchs_formula_bit_for_bit(calls):
    x, g = _data(seed=2)
    y = torch.sigmoid(torch.tensor(x)).numpy()
    y[:4, 0] = [0.0, 1.0, np.nan, 1e-40]
    ours = chain_grad.sigmoid_from_output(g, y)
    theirs = torch.ops.aten.sigmoid_backward(torch.tensor(g), torch.tensor(y)).numpy()
    _assert_same_bits(ours, theirs)
    ours, theirs = _grads(lambda lib, t: lib.sigmoid(t), x, g)  # through the op
    assert calls[-1] is True
    # the forwards' outputs differ by a few ulp, which 1 - y magnifies where y is near 1
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=2e-7 * np.abs(g).max())
