"""Training-mode batch norm (one fused op) in every input layout, against torch."""

import numpy as np
import pytest
import torch

import ember

SHAPES = [(6, 4), (3, 4, 5), (2, 4, 3, 5)]


def _input(lib, array, channels_last):
    x = lib.tensor(array)
    if channels_last:
        x = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    return x.requires_grad_(True)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize(
    "shape,channels_last",
    [(s, False) for s in SHAPES] + [((2, 4, 3, 5), True)],
)
def test_outputs_gradients_and_running_stats(shape, channels_last, affine):
    rng = np.random.default_rng(0)
    array = rng.standard_normal(shape) * 3 + 1
    cot = rng.standard_normal(shape)
    results = []
    for lib in (torch, ember):
        bn = getattr(lib.nn, f"BatchNorm{max(1, len(shape) - 2)}d")(4, affine=affine).double()
        if affine:
            with lib.no_grad():
                bn.weight.copy_(lib.tensor(np.linspace(0.5, 2, 4)))
                bn.bias.copy_(lib.tensor(np.linspace(-1, 1, 4)))
        x = _input(lib, array, channels_last)
        for _ in range(2):
            out = bn(x)
        out.backward(lib.tensor(cot))
        row = [
            out.detach().numpy(),
            x.grad.numpy(),
            bn.running_mean.numpy(),
            bn.running_var.numpy(),
        ]
        if affine:
            row += [bn.weight.grad.numpy(), bn.bias.grad.numpy()]
        results.append(row)
    for ref, got in zip(*results):
        np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("channels_last", [False, True])
def test_gradient_penalty(channels_last):
    rng = np.random.default_rng(1)
    array = rng.standard_normal((3, 4, 2, 3))
    grads = []
    for lib in (torch, ember):
        bn = lib.nn.BatchNorm2d(4).double()
        x = _input(lib, array, channels_last)
        out = bn(x)
        weight = lib.tensor(np.linspace(-1, 1, out.numel()).reshape(out.shape))
        (gx,) = lib.autograd.grad((out * weight).sum(), x, create_graph=True)
        (gx**2).sum().backward()
        grads.append([bn.weight.grad.numpy(), x.grad.numpy()])
    for ref, got in zip(*grads):
        np.testing.assert_allclose(got, ref, rtol=1e-8, atol=1e-10)
