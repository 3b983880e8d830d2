"""Batch norm of large float32 channels-first input on oneDNN's passes
(`ember.backends.onednn.batch_norm`): outputs, gradients and running statistics against
PyTorch, against the NumPy kernels, and what it leaves to them."""

import numpy as np
import pytest
import torch

import ember
from ember.backends import registry
from ember.backends.onednn import batch_norm, library

pytestmark = pytest.mark.skipif(not library.available(), reason="oneDNN is not installed")

SHAPES = [
    (8, 32, 32, 32),  # rows of 1024 summed on oneDNN
    (16, 32, 24, 24),  # rows of 576
    (4, 8, 64, 128),  # rows of 8192: blocks of 1024
    (8, 16, 56, 56),  # rows of 3136: NumPy sums, oneDNN passes
    (64, 256, 4, 4),  # rows of 16: NumPy sums, the values as rows of C * L
    (32, 64, 128),  # BatchNorm1d on (N, C, L)
    (1024, 256),  # BatchNorm1d on (N, C)
]


def _train(lib, x, g, affine, input_grad=True):
    """One training step's output, gradients and running statistics of a BatchNorm."""
    channels = x.shape[1]
    module = getattr(lib.nn, f"BatchNorm{max(1, x.ndim - 2)}d")(channels, affine=affine)
    if x.dtype == np.float64:
        module = module.double()
    if affine:
        with lib.no_grad():
            module.weight.copy_(lib.tensor(np.linspace(0.5, 1.5, channels, dtype=np.float32)))
            module.bias.copy_(lib.tensor(np.linspace(-1, 1, channels, dtype=np.float32)))
    t = lib.tensor(x, requires_grad=input_grad)
    y = module(t)
    y.backward(lib.tensor(g))
    results = [y.detach().numpy(), module.running_mean.numpy(), module.running_var.numpy()]
    if input_grad:
        results.append(t.grad.numpy())
    if affine:
        results += [module.weight.grad.numpy(), module.bias.grad.numpy()]
    return results


def _assert_close(ours, theirs, relative):
    """Each result within ``relative`` of the largest magnitude of PyTorch's (a weight
    gradient's small elements are differences of large sums)."""
    for a, b in zip(ours, theirs, strict=True):
        assert np.abs(a - b).max() <= relative * np.abs(b).max()


def _data(shape, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(np.float32)
    return x, rng.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_against_pytorch(shape, affine, two_threads):
    x, g = _data(shape)
    assert x.size >= batch_norm.MIN_ELEMENTS
    ours = _train(ember, x, g, affine)
    assert registry.last_used("batch_norm_forward") == "onednn"
    assert registry.last_used("batch_norm_backward") == "onednn"
    _assert_close(ours, _train(torch, x, g, affine), 2e-6)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape", [(8, 32, 32, 32), (64, 256, 4, 4)])
def test_inference_with_running_statistics(shape, affine, two_threads):
    x, _ = _data(shape, seed=5)
    outputs = []
    for lib in (ember, torch):
        module = lib.nn.BatchNorm2d(shape[1], affine=affine)
        with lib.no_grad():
            module.running_mean.copy_(lib.tensor(np.linspace(-1, 1, shape[1], dtype=np.float32)))
            module.running_var.copy_(lib.tensor(np.linspace(0.5, 3, shape[1], dtype=np.float32)))
            if affine:
                module.weight.copy_(lib.tensor(np.linspace(0.5, 1.5, shape[1], dtype=np.float32)))
                module.bias.copy_(lib.tensor(np.linspace(-1, 1, shape[1], dtype=np.float32)))
        with lib.no_grad():
            outputs.append(module.eval()(lib.tensor(x)).numpy())
        if lib is ember:
            assert registry.last_used("batch_norm_inference") == "onednn"
    _assert_close(outputs[:1], outputs[1:], 2e-6)


def test_without_the_input_gradient(two_threads):
    x, g = _data((8, 32, 32, 32), seed=1)
    ours = _train(ember, x, g, affine=True, input_grad=False)
    assert registry.last_used("batch_norm_backward") == "onednn"
    _assert_close(ours, _train(torch, x, g, affine=True, input_grad=False), 2e-6)


def test_as_close_to_float64_as_pytorch_for_an_offset_input(two_threads):
    """Channels whose mean is far from 0 against their spread: the centred formulas keep
    the output and gradient as accurate as PyTorch's float32 ones."""
    x, g = _data((8, 32, 32, 32), seed=2)
    x = x * np.float32(0.01) + np.float32(300)
    exact = _train(torch, x.astype(np.float64), g.astype(np.float64), affine=True)
    ours = _train(ember, x, g, affine=True)
    theirs = _train(torch, x, g, affine=True)
    for a, b, reference in zip(ours, theirs, exact):
        scale = np.abs(reference).max()
        error, their_error = np.abs(a - reference).max(), np.abs(b - reference).max()
        assert error <= 2 * their_error + 1e-6 * scale


def test_matches_the_numpy_kernels(two_threads):
    x, g = _data((16, 32, 24, 24), seed=3)
    on_onednn = _train(ember, x, g, affine=True)
    with registry.only("numpy"):
        on_numpy = _train(ember, x, g, affine=True)
    assert registry.last_used("batch_norm_forward") == "numpy"
    _assert_close(on_onednn, on_numpy, 2e-6)


@pytest.mark.parametrize("case", ["float64", "channels_last", "small", "one thread"])
def test_leaves_to_numpy_what_it_does_not_take(case, two_threads):
    x, g = _data((8, 32, 32, 32), seed=4)
    if case == "small":
        x, g = x[:1, :8], g[:1, :8]
    dtype = np.float64 if case == "float64" else np.float32
    t = ember.tensor(x.astype(dtype))
    if case == "channels_last":
        t = t.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    t.requires_grad_(True)
    module = ember.nn.BatchNorm2d(x.shape[1]).to(t.dtype)
    if case == "one thread":
        ember.set_num_threads(1)
    module(t).backward(ember.tensor(g.astype(dtype)))
    assert registry.last_used("batch_norm_forward") == "numpy"
    assert registry.last_used("batch_norm_backward") == "numpy"
    rt = torch.tensor(x.astype(np.float64), requires_grad=True)
    torch.nn.BatchNorm2d(x.shape[1]).double()(rt).backward(torch.tensor(g.astype(np.float64)))
    np.testing.assert_allclose(t.grad.numpy(), rt.grad.numpy(), rtol=1e-4, atol=1e-4)
