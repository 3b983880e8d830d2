"""Batch norm's per-channel passes on oneDNN (`binary.per_channel`: a * scale + shift in one
pass on every core): the same bits as the NumPy passes, forward and backward, and against
PyTorch."""

import numpy as np
import pytest
import torch

import ember
from ember.backends.onednn import binary, library

pytestmark = pytest.mark.skipif(not library.available(), reason="oneDNN is not installed")


def _run(x, g, threads, affine=True):
    before = ember.get_num_threads()
    ember.set_num_threads(threads)
    try:
        ember.manual_seed(0)
        bn = ember.nn.BatchNorm2d(x.shape[1], affine=affine)
        if affine:
            bn.weight.data.uniform_(0.5, 1.5)
            bn.bias.data.uniform_(-1.0, 1.0)
        t = ember.tensor(x, requires_grad=True)
        y = bn(t)
        y.backward(ember.tensor(g))
        grads = (bn.weight.grad.numpy(), bn.bias.grad.numpy()) if affine else ()
        return y.detach().numpy(), t.grad.numpy(), *grads
    finally:
        ember.set_num_threads(before)


@pytest.mark.parametrize("affine", [True, False])
def test_onednn_passes_give_the_numpy_passes_bits(affine, count_calls):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 32, 24, 24)).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    assert x.size >= binary.MIN_PER_CHANNEL_ELEMENTS
    calls = count_calls(binary, "per_channel")
    on_onednn = _run(x, g, threads=2, affine=affine)
    assert calls[-2:] == [True, True] and calls.count(True) == (3 if affine else 2)
    on_numpy = _run(x, g, threads=1, affine=affine)  # declined on one thread
    assert calls.count(True) == (3 if affine else 2)
    for a, b in zip(on_onednn, on_numpy):
        np.testing.assert_array_equal(a, b)
    if not affine:  # against PyTorch too (the affine case adds ember's own random weights)
        t = torch.tensor(x, requires_grad=True)
        y = torch.nn.BatchNorm2d(32, affine=False)(t)
        y.backward(torch.tensor(g))
        np.testing.assert_allclose(on_onednn[0], y.detach().numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(on_onednn[1], t.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_per_channel_declines_what_it_does_not_take():
    a = np.ones((4, 8, 1 << 14), np.float32)
    scale, shift = np.ones(8, np.float32), np.zeros(8, np.float32)
    assert binary.per_channel(a, scale, shift, np.empty_like(a)) is not None
    assert binary.per_channel(a.astype(np.float64), scale, shift, np.empty_like(a)) is None
    assert binary.per_channel(a, scale[:4], shift, np.empty_like(a)) is None
    assert binary.per_channel(a[:, :, ::2], scale, shift, np.empty_like(a[:, :, ::2])) is None
    assert binary.per_channel(a[:1, :, :8], scale, shift, np.empty_like(a[:1, :, :8])) is None
