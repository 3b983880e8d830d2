"""Tensor.fill_diagonal_ against PyTorch: matrices of every shape with and without wrap,
n-d tensors with equal dims, the gradient, and the errors."""

import numpy as np
import pytest
import torch

import ember

SHAPES = [(3, 3), (7, 3), (3, 7), (8, 2), (1, 5), (0, 3), (4, 4, 4), (2, 2, 2, 2)]


@pytest.mark.parametrize("wrap", [False, True])
@pytest.mark.parametrize("shape", SHAPES)
def test_values_match_torch(shape, wrap):
    a = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    expected = torch.tensor(a).fill_diagonal_(-1.5, wrap)
    got = ember.tensor(a).fill_diagonal_(-1.5, wrap)
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_gradient_skips_the_written_positions_as_torch():
    grads = []
    for lib in (torch, ember):
        x = lib.ones(5, 3, requires_grad=True)
        y = (x * 2).fill_diagonal_(0.0, wrap=True)
        y.backward(lib.arange(15.0).reshape(5, 3))
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(grads[1], grads[0])


@pytest.mark.parametrize("shape", [(3,), (2, 3, 3)])
def test_bad_shapes_raise_as_torch(shape):
    with pytest.raises(RuntimeError):
        torch.zeros(shape).fill_diagonal_(1)
    with pytest.raises(RuntimeError, match="fill_diagonal_"):
        ember.zeros(shape).fill_diagonal_(1)
