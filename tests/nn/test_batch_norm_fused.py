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


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_lower_precision_training_against_torch(dtype, channels_last):
    """16-bit inputs are normalised in float32 and rounded once, as torch does."""
    rng = np.random.default_rng(2)
    array = (rng.standard_normal((4, 6, 5, 5)) * 2 + 1).astype(np.float32)
    cot = rng.standard_normal(array.shape).astype(np.float32)
    results = []
    for lib in (torch, ember):
        bn = lib.nn.BatchNorm2d(6).to(getattr(lib, dtype))
        x = _input(lib, array, channels_last).detach().to(getattr(lib, dtype))
        x.requires_grad_(True)
        out = bn(x)
        out.backward(lib.tensor(cot).to(out.dtype))
        results.append([out.detach(), x.grad, bn.weight.grad, bn.bias.grad, bn.running_var])
        results[-1] = [t.float().numpy() for t in results[-1]] + [out.dtype, out.stride()]
    *theirs, their_dtype, their_stride = results[0]
    *ours, our_dtype, our_stride = results[1]
    assert str(our_dtype).split(".")[-1] == str(their_dtype).split(".")[-1] == dtype
    assert our_stride == their_stride
    tol = {"float32": 1e-5, "float16": 4e-3, "bfloat16": 3e-2}[dtype]
    for got, ref in zip(ours, theirs):
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * np.abs(ref).max())


@pytest.mark.parametrize("shape,channels_last", [((2, 5, 4, 3), False), ((2, 5, 4, 3), True),
                                                 ((7, 5), False), ((3, 5, 8), False)])  # fmt: skip
def test_evaluation_without_gradients_against_torch(shape, channels_last):
    """Inference with running statistics: one kernel call; values and layout as torch's."""
    rng = np.random.default_rng(3)
    array = rng.standard_normal(shape)
    outputs = []
    for lib in (torch, ember):
        bn = getattr(lib.nn, f"BatchNorm{max(1, len(shape) - 2)}d")(5).double()
        with lib.no_grad():
            bn.running_mean.copy_(lib.tensor(np.linspace(-1, 1, 5)))
            bn.running_var.copy_(lib.tensor(np.linspace(0.5, 2, 5)))
            bn.weight.copy_(lib.tensor(np.linspace(0.2, 3, 5)))
            bn.bias.copy_(lib.tensor(np.linspace(-2, 2, 5)))
        bn.eval()
        with lib.no_grad():
            out = bn(_input(lib, array, channels_last).detach())
        outputs.append((out.numpy(), out.stride(), out.requires_grad))
    np.testing.assert_allclose(outputs[1][0], outputs[0][0], rtol=1e-12, atol=1e-12)
    assert outputs[1][1:] == outputs[0][1:]
