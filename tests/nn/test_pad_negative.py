"""Negative padding crops, in every mode, with PyTorch's values and gradients."""

import numpy as np
import pytest
import torch

import ember

CASES = [
    ("constant", (-1, 2, 1, -1)),
    ("constant", (0, -2)),
    ("reflect", (-1, 1, 1, -1)),
    ("replicate", (2, -1, -1, 0)),
    ("circular", (-1, 1, 1, -1)),
]


@pytest.mark.parametrize("mode,pad", CASES)
def test_negative_padding_matches_torch(mode, pad):
    results = []
    for lib in (torch, ember):
        x = lib.arange(24.0, dtype=lib.float64).reshape(1, 2, 3, 4).requires_grad_()
        y = lib.nn.functional.pad(x, pad, mode=mode)
        weights = lib.arange(float(y.numel()), dtype=lib.float64).reshape(y.shape)
        (y * weights).sum().backward()
        results.append((y.detach().numpy(), x.grad.numpy()))
    np.testing.assert_array_equal(results[1][0], results[0][0])
    np.testing.assert_array_equal(results[1][1], results[0][1])


@pytest.mark.parametrize("mode,pad", CASES)
def test_negative_padding_second_derivative(mode, pad):
    x = ember.randn(1, 2, 3, 4, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda t: ember.nn.functional.pad(t, pad, mode=mode), (x,))


def test_cropping_to_nothing_is_empty_and_beyond_is_an_error():
    assert tuple(ember.nn.functional.pad(ember.ones(1, 1, 3), (-2, -1)).shape) == (1, 1, 0)
    with pytest.raises(RuntimeError):
        torch.nn.functional.pad(torch.ones(1, 1, 3), (-2, -2))
    with pytest.raises(RuntimeError, match="pad"):
        ember.nn.functional.pad(ember.ones(1, 1, 3), (-2, -2))
