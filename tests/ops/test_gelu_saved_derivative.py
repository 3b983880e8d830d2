"""GELU in float32 keeps its derivative from the forward passes; values against torch.

Covers both forms (exact and tanh), special values, non-contiguous, 0-d, empty and large
(threaded) inputs, double backward, and the in-place check on the saved input.
"""

import numpy as np
import pytest
import torch

import ember

SPECIAL = [0.0, -0.0, 1e-30, -1e-30, 5.5, -5.5, -10.0, 10.0, np.nan]


def _input(shape, seed=0):
    x = (np.random.default_rng(seed).standard_normal(shape) * 3).astype(np.float32)
    flat = x.reshape(-1)
    n = min(flat.size, len(SPECIAL))
    flat[:n] = SPECIAL[:n]
    return x


def _forward_backward(lib, x, g, approximate, transpose=False):
    t = lib.tensor(x, requires_grad=True)
    y = lib.nn.functional.gelu(t.mT if transpose else t, approximate=approximate)
    y.backward(lib.tensor(g))
    return y.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("shape", [(), (0,), (7,), (33, 65), (600, 1000)])
def test_forward_and_gradient_match_torch(approximate, shape):
    x = _input(shape)
    g = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    (y, gx), (ty, tgx) = (_forward_backward(lib, x, g, approximate) for lib in (ember, torch))
    assert y.dtype == gx.dtype == np.float32 and y.shape == gx.shape == shape
    np.testing.assert_allclose(y, ty, rtol=1e-6, atol=2e-6)
    np.testing.assert_allclose(gx, tgx, rtol=1e-5, atol=5e-6)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_transposed_input(approximate):
    x = _input((40, 30), seed=2)
    g = np.random.default_rng(3).standard_normal((30, 40)).astype(np.float32)
    ours, theirs = (_forward_backward(lib, x, g, approximate, True) for lib in (ember, torch))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=5e-6)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_forward_is_the_same_with_and_without_grad(approximate):
    x = _input((300, 1000), seed=4)
    with_grad = ember.nn.functional.gelu(ember.tensor(x, requires_grad=True), approximate)
    without = ember.nn.functional.gelu(ember.tensor(x), approximate)
    np.testing.assert_array_equal(with_grad.detach().numpy(), without.numpy())


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_thread_count_does_not_change_bits(approximate):
    x = _input((700, 1000), seed=5)
    g = np.random.default_rng(6).standard_normal(x.shape).astype(np.float32)
    before = ember.get_num_threads()
    try:
        runs = []
        for threads in (1, 3):
            ember.set_num_threads(threads)
            runs.append(_forward_backward(ember, x, g, approximate))
    finally:
        ember.set_num_threads(before)
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_double_backward_matches_torch(approximate):
    x = _input((5, 6), seed=7)
    x[np.isnan(x)] = 0.25
    results = []
    for lib in (ember, torch):
        t = lib.tensor(x, requires_grad=True)
        (first,) = lib.autograd.grad(lib.nn.functional.gelu(t, approximate=approximate).sum(), t,
                                     create_graph=True)  # fmt: skip
        (second,) = lib.autograd.grad((first * first).sum(), t)
        results.append((first.detach().numpy(), second.numpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_changing_the_input_in_place_is_caught():
    t = ember.tensor(_input((4, 5)), requires_grad=True)
    x = t * 1
    y = ember.nn.functional.gelu(x)
    x.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
