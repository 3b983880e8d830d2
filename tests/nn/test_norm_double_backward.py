"""Gradient penalties through group and instance norm (the shared standardisation op)."""

import numpy as np
import pytest
import torch

import ember

CASES = {
    "group_norm": lambda lib, x: lib.nn.functional.group_norm(x, 2),
    "instance_norm": lambda lib, x: lib.nn.functional.instance_norm(x),
}


@pytest.mark.parametrize("name", CASES)
def test_gradient_penalty_matches_torch(name):
    rng = np.random.default_rng(0)
    array = rng.standard_normal((2, 4, 3, 3))
    grads = []
    for lib in (torch, ember):
        x = lib.tensor(array, requires_grad=True)
        out = CASES[name](lib, x)
        weight = lib.tensor(np.linspace(-1, 1, out.numel()).reshape(out.shape))
        (gx,) = lib.autograd.grad((out * weight).sum(), x, create_graph=True)
        (gx**2).sum().backward()
        grads.append([gx.detach().numpy(), x.grad.numpy()])
    for ref, got in zip(*grads):
        np.testing.assert_allclose(got, ref, rtol=1e-8, atol=1e-10)
