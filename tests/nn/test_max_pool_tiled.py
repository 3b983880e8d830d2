"""Max pooling with stride equal to the kernel (the path without window copies), against torch."""

import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradgradcheck

CASES = [
    ((2, 3, 8, 8), 2),
    ((2, 3, 9, 7), 2),  # the last row and column are not covered, as in PyTorch
    ((1, 2, 9, 9), 3),
    ((2, 4, 6, 8), (2, 4)),
]


def _run(lib, x, k, channels_last=False):
    t = lib.tensor(x)
    if channels_last:
        t = t.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    t.requires_grad_(True)
    out, idx = lib.nn.functional.max_pool2d(t, k, return_indices=True)
    w = lib.tensor(np.arange(out.numel(), dtype=x.dtype).reshape(out.shape) % 7 - 3)
    (out * w).sum().backward()
    return out.detach().numpy(), idx.numpy(), t.grad.numpy()


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("shape,k", CASES)
def test_values_indices_and_gradients(shape, k, channels_last):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    for ref, got in zip(_run(torch, x, k, channels_last), _run(ember, x, k, channels_last)):
        np.testing.assert_array_equal(got, ref)


def test_ties_and_nans_pick_the_same_element_as_torch():
    x = np.zeros((1, 1, 4, 4), np.float32)
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = 5.0  # a tie inside the first window
    x[0, 0, 2, 3] = np.nan
    x[0, 0, 3, 2] = np.nan  # two NaNs in the last window
    x[0, 0, 2, 2] = 9.0
    for ref, got in zip(_run(torch, x, 2), _run(ember, x, 2)):
        np.testing.assert_array_equal(got, ref)


def test_double_backward():
    x = ember.tensor(np.random.default_rng(1).standard_normal((1, 2, 4, 6)), requires_grad=True)
    assert gradgradcheck(lambda t: ember.nn.functional.max_pool2d(t, 2), [x])


def test_non_finite_gradient_reaches_only_the_winning_element():
    x = np.random.default_rng(2).standard_normal((1, 2, 4, 4)).astype(np.float32)
    cot = np.ones((1, 2, 2, 2), np.float32)
    cot[0, 0, 0, 1] = np.inf
    cot[0, 1, 1, 0] = np.nan
    grads = []
    for lib in (torch, ember):
        t = lib.tensor(x, requires_grad=True)
        lib.nn.functional.max_pool2d(t, 2).backward(lib.tensor(cot))
        grads.append(t.grad.numpy())
    np.testing.assert_array_equal(grads[1], grads[0])
