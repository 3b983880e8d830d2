"""The variance (and standard deviation) of every element of a large float32 tensor on
oneDNN (`ember._ops.reduce.Variance`): values and gradients against PyTorch, the path
asserted, its fallback, special values, double backward."""

import numpy as np
import pytest
import torch

import ember
from ember.backends.onednn import library
from ember.backends.onednn import reduction as onednn_reduction

pytestmark = [
    pytest.mark.skipif(not library.available(), reason="oneDNN is not installed"),
    pytest.mark.usefixtures("two_threads"),
]

SHAPES = [(1024, 1024), (3, 1024, 341), (1100, 1024)]  # one chunk; a tail; two chunks


def _data(shape, seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * 3 + 5).astype(np.float32)


@pytest.fixture
def calls(count_calls):
    return count_calls(onednn_reduction, "centered_square_sum")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("correction", [0, 1, 5])
def test_values_and_gradients_match_torch(shape, correction, calls):
    x = _data(shape)
    ours, theirs = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    v, expected = ember.var(ours, correction=correction), torch.var(theirs, correction=correction)
    assert calls == [True]
    assert v.shape == expected.shape == ()
    np.testing.assert_allclose(v.item(), expected.item(), rtol=3e-7)
    g = np.float32(0.75)
    v.backward(ember.tensor(g))
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_std_keepdim_and_var_mean_match_torch(calls):
    x = _data((1024, 1024), seed=1)
    ours, theirs = ember.tensor(x), torch.tensor(x)
    np.testing.assert_allclose(ember.std(ours).item(), torch.std(theirs).item(), rtol=3e-7)
    kept = ember.var(ours, dim=(0, 1), keepdim=True)
    assert kept.shape == torch.var(theirs, dim=(0, 1), keepdim=True).shape == (1, 1)
    v, m = ember.var_mean(ours)
    tv, tm = torch.var_mean(theirs)
    np.testing.assert_allclose([v.item(), m.item()], [tv.item(), tm.item()], rtol=3e-7)
    assert calls == [True, True, True]


@pytest.mark.parametrize("special", [np.nan, np.inf, -np.inf])
def test_nan_and_infinities_give_nan_as_torch(special, calls):
    x = _data((1024, 1024), seed=2)
    x[512, 7] = special
    assert np.isnan(ember.var(ember.tensor(x)).item())
    assert np.isnan(torch.var(torch.tensor(x)).item())


def test_fallback_where_onednn_declines_gives_the_same_variance(monkeypatch):
    x = _data((1024, 1024), seed=3)
    on_onednn = ember.var(ember.tensor(x)).item()
    monkeypatch.setattr(onednn_reduction, "centered_square_sum", lambda *a: None)
    monkeypatch.setattr(onednn_reduction, "scaled_centered", lambda *a: None)
    ours = ember.tensor(x, requires_grad=True)
    v = ember.var(ours)
    np.testing.assert_allclose(v.item(), on_onednn, rtol=3e-7)
    v.backward()
    theirs = torch.tensor(x, requires_grad=True)
    torch.var(theirs).backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_double_backward_matches_torch():
    x = _data((1024, 1024), seed=4)
    ours, theirs = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (g,) = ember.autograd.grad(ember.var(ours), ours, create_graph=True)
    (tg,) = torch.autograd.grad(torch.var(theirs), theirs, create_graph=True)
    w = _data((1024, 1024), seed=6)  # of mean 5: the mean's part of d/dx is as large as x's
    (g * ember.tensor(w)).sum().backward()
    (tg * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-4, atol=1e-12)


def test_small_tensors_and_partial_reductions_keep_the_composition(calls):
    small = _data((64, 64))
    np.testing.assert_allclose(
        ember.var(ember.tensor(small)).item(), torch.var(torch.tensor(small)).item(), rtol=1e-6
    )
    x = _data((1024, 1024), seed=5)
    np.testing.assert_allclose(
        ember.var(ember.tensor(x), dim=0).numpy(), torch.var(torch.tensor(x), dim=0).numpy(),
        rtol=1e-5,
    )  # fmt: skip
    assert calls == []
