"""Convolution results and gradients have PyTorch's memory layout: contiguous for contiguous
input, so ``view`` after conv/pool/activation works as in PyTorch (LeNet's ``x.view(-1, 320)``)."""

import pytest
import torch

import ember

DTYPES = ["float32", "float64"]  # float32 runs on oneDNN where installed, float64 on NumPy


def _net(lib, dtype):
    lib.manual_seed(0)
    conv1 = lib.nn.Conv2d(1, 10, 5).to(getattr(lib, dtype))
    conv2 = lib.nn.Conv2d(10, 20, 5).to(getattr(lib, dtype))
    F = lib.nn.functional

    def run(x):
        x = F.relu(F.max_pool2d(conv1(x), 2))
        x = F.relu(F.max_pool2d(conv2(x), 2))
        return x.view(-1, 320)

    return run, (conv1, conv2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_view_after_convolutions_as_lenet_does(dtype):
    run, convs = _net(ember, dtype)
    x = ember.randn(3, 1, 28, 28, dtype=getattr(ember, dtype), requires_grad=True)
    out = run(x)
    assert tuple(out.shape) == (3, 320)
    out.sum().backward()
    for t in (x.grad, *(c.weight.grad for c in convs)):
        assert t.is_contiguous()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.nn.Conv2d(3, 4, 3, padding=1),
        lambda lib: lib.nn.Conv2d(4, 4, 3, groups=2, stride=2),
        lambda lib: lib.nn.Conv2d(3, 4, 1),
        lambda lib: lib.nn.ConvTranspose2d(3, 4, 3, stride=2),
        lambda lib: lib.nn.Conv1d(3, 4, 3),
    ],
    ids=["conv", "grouped_strided", "pointwise", "transposed", "conv1d"],
)
def test_result_and_gradients_contiguous_like_torch(make, dtype):
    results = []
    for lib in (torch, ember):
        layer = make(lib).to(getattr(lib, dtype))
        shape = (2, 3, 9) if isinstance(layer, lib.nn.Conv1d) else (2, layer.in_channels, 9, 9)
        x = lib.ones(shape, dtype=getattr(lib, dtype), requires_grad=True)
        y = layer(x)
        y.sum().backward()
        grads = (x.grad, layer.weight.grad, layer.bias.grad)
        results.append((y.is_contiguous(), *(g.is_contiguous() for g in grads)))
    assert results[1] == results[0]
