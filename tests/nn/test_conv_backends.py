"""Both float32 convolution backends, oneDNN's kernels and NumPy's im2col, against torch."""

import platform

import numpy as np
import pytest
import torch

import ember
from ember.backends import registry
from ember.backends.onednn import library as onednn
from tests.nn.helpers import exit_code_in_forked_child

GEOMETRIES = [
    dict(shape=(2, 3, 9, 8), out=5, k=3, stride=1, padding=1, dilation=1, groups=1),
    dict(shape=(2, 4, 9, 9), out=6, k=3, stride=2, padding=0, dilation=2, groups=2),
    dict(shape=(2, 6, 7, 7), out=6, k=3, stride=1, padding=1, dilation=1, groups=6),
    dict(shape=(3, 8, 6, 6), out=4, k=1, stride=2, padding=0, dilation=1, groups=1),
    dict(shape=(1, 2, 11, 5), out=3, k=4, stride=3, padding=2, dilation=1, groups=1),
]


@pytest.fixture(params=["onednn", "numpy"])
def backend(request):
    """Every convolution in the test runs on this backend alone."""
    if request.param not in registry.backends_for("conv2d"):
        pytest.skip(f"no {request.param} kernels here")
    with registry.only(request.param):
        yield request.param


def test_onednn_is_present_where_its_wheel_exists():
    on_x86_linux = platform.system() == "Linux" and platform.machine() == "x86_64"
    assert onednn.available() == on_x86_linux
    assert ("onednn" in registry.backends_for("conv2d")) == on_x86_linux


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("g", GEOMETRIES, ids=range(len(GEOMETRIES)))
def test_conv2d_forward_and_backward(backend, g, bias):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(g["shape"]).astype(np.float32)
    w = rng.standard_normal((g["out"], g["shape"][1] // g["groups"], g["k"], g["k"]))
    w = w.astype(np.float32)
    b = rng.standard_normal(g["out"]).astype(np.float32) if bias else None
    kw = {k: g[k] for k in ("stride", "padding", "dilation", "groups")}
    results = []
    for lib in (torch, ember):
        xs = lib.tensor(x, requires_grad=True)
        ws = lib.tensor(w, requires_grad=True)
        bs = None if b is None else lib.tensor(b, requires_grad=True)
        out = lib.nn.functional.conv2d(xs, ws, bs, **kw)
        weight = lib.tensor(np.linspace(-1, 1, out.numel(), dtype=np.float32).reshape(out.shape))
        (out * weight).sum().backward()
        grads = [xs.grad, ws.grad] + ([] if bs is None else [bs.grad])
        results.append([out.detach().numpy()] + [t.numpy() for t in grads])
    for ref, got in zip(*results):
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)
    for kernel in ("conv2d", "conv2d_backward"):  # both gradients come from one call
        assert registry.last_used(kernel) == backend


def test_channels_last_input_and_in_place_change_after_forward(backend):
    x = ember.randn(2, 3, 6, 6).permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    x.requires_grad_(True)
    w = ember.randn(4, 3, 3, 3, requires_grad=True)
    y = x * 1.0
    out = ember.nn.functional.conv2d(y, w, padding=1)
    tx = torch.tensor(x.detach().numpy(), requires_grad=True)
    tw = torch.tensor(w.detach().numpy(), requires_grad=True)
    ref = torch.nn.functional.conv2d(tx, tw, padding=1)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-4, atol=1e-4)
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_gradient_penalty_through_conv2d(backend):
    """Double backward: the gradient of a penalty on the input gradient, against torch."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 6, 5)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    grads = []
    for lib in (torch, ember):
        xs, ws, bs = (lib.tensor(a, requires_grad=True) for a in (x, w, b))
        out = lib.nn.functional.conv2d(xs, ws, bs, stride=2, padding=1)
        (gx,) = lib.autograd.grad((out**2).sum(), xs, create_graph=True)
        (gx**2).sum().backward()
        grads.append([ws.grad.numpy(), bs.grad.numpy(), xs.grad.numpy()])
    for ref, got in zip(*grads):
        np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-3)


def _conv_in_child():
    w = ember.randn(8, 3, 3, 3, requires_grad=True)
    ember.nn.functional.conv2d(ember.randn(4, 3, 16, 16), w).sum().backward()


def test_convolution_in_a_forked_child_after_the_parent_ran_one():
    """OpenMP's thread pool is not inherited by fork; a child must not wait on it forever."""
    ember.nn.functional.conv2d(ember.randn(16, 3, 32, 32), ember.randn(8, 3, 3, 3))
    assert exit_code_in_forked_child(_conv_in_child) == 0  # None: it hung
