"""Layer norm and cross-entropy on inputs large enough to run in threaded row blocks."""

import numpy as np
import pytest
import torch

import ember
from ember.backends.numpy import row_blocks
from tests.nn.helpers import exit_code_in_forked_child


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def threads(request):
    before = ember.get_num_threads()
    ember.set_num_threads(request.param)
    yield request.param
    ember.set_num_threads(before)


def test_layer_norm(threads):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in ((1100, 1000), (1000,), (1000,))]
    cot = rng.standard_normal((1100, 1000)).astype(np.float32)
    results = []
    for lib in (torch, ember):
        x, w, b = (lib.tensor(a, requires_grad=True) for a in arrays)
        out = lib.nn.functional.layer_norm(x, (1000,), w, b)
        out.backward(lib.tensor(cot))
        results.append([out.detach().numpy(), x.grad.numpy(), w.grad.numpy(), b.grad.numpy()])
    for ref, got in zip(*results):
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_cross_entropy(threads, reduction):
    rng = np.random.default_rng(1)
    logits = (rng.standard_normal((1100, 1000)) * 5).astype(np.float32)
    target = rng.integers(0, 1000, 1100)
    target[::7] = -100
    results = []
    for lib in (torch, ember):
        x = lib.tensor(logits, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(x, lib.tensor(target), reduction=reduction)
        loss.sum().backward()
        results.append([loss.detach().numpy(), x.grad.numpy()])
    for ref, got in zip(*results):
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-6)


def test_cross_entropy_of_confident_and_masked_logits(threads):
    """Logits far below their row's maximum (exp under about 1e-38, which oneDNN's exp
    flushes to zero) and -inf ones (masked classes) give PyTorch's loss and gradient."""
    rng = np.random.default_rng(2)
    logits = (rng.standard_normal((300, 1000)) * 40).astype(np.float32)
    logits[:, :50] = -np.inf
    logits[::3, 60] = 80.0
    target = rng.integers(50, 1000, 300)
    results = []
    for lib in (torch, ember):
        x = lib.tensor(logits, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(x, lib.tensor(target))
        loss.backward()
        results.append([loss.detach().numpy(), x.grad.numpy()])
    for ref, got in zip(*results):
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("rows,elements", [(10, 10), (5000, 5_000_000), (3, 4_000_000)])
def test_over_rows_covers_every_row_once(threads, rows, elements):
    seen = np.zeros(rows, int)

    def mark(lo, hi):
        seen[lo:hi] += 1

    row_blocks.over_rows(mark, rows, elements, threads)
    assert (seen == 1).all()


def _large_layer_norm():
    ember.nn.functional.layer_norm(ember.randn(1100, 1000), (1000,))


def test_threaded_op_in_a_forked_child_after_the_parent_ran_one(threads):
    _large_layer_norm()
    assert exit_code_in_forked_child(_large_layer_norm) == 0  # None: it hung
