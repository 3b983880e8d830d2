"""Pooling in 1, 2 and 3 dimensions against torch: values, indices, first and second
derivatives; one op per pooling kind whatever kernel runs it."""

import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradgradcheck
from ember.backends import registry

MAX = [
    ("max_pool1d", (2, 3, 9), dict(kernel_size=3, stride=2, padding=1)),
    ("max_pool1d", (3, 8), dict(kernel_size=2)),  # unbatched, tiling windows
    (
        "max_pool2d",
        (2, 3, 7, 8),
        dict(kernel_size=(3, 2), stride=2, dilation=(1, 2), ceil_mode=True),
    ),
    ("max_pool3d", (2, 2, 6, 5, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("max_pool3d", (2, 2, 4, 6, 4), dict(kernel_size=2)),  # tiling windows
    ("max_pool3d", (2, 5, 6, 5), dict(kernel_size=(2, 3, 2), stride=1, dilation=(2, 1, 1))),
]

AVG = [
    ("avg_pool1d", (2, 3, 9), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
    ("avg_pool2d", (2, 3, 7, 8), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("avg_pool3d", (2, 2, 6, 5, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("avg_pool3d", (2, 5, 6, 5), dict(kernel_size=2, count_include_pad=False, padding=1)),
    ("avg_pool3d", (1, 2, 4, 4, 4), dict(kernel_size=2, divisor_override=3)),
]

ADAPTIVE = [
    ("adaptive_avg_pool3d", (2, 3, 7, 6, 5), (3, 4, 2)),
    ("adaptive_avg_pool3d", (3, 6, 4, 8), (3, None, 4)),  # unbatched, tiling windows
    ("adaptive_max_pool3d", (2, 3, 7, 6, 5), (3, 4, 2)),
    ("adaptive_max_pool3d", (3, 6, 4, 8), 2),
    ("adaptive_max_pool1d", (2, 3, 10), 4),
]


def _values_and_grads(lib, name, shape, kw, data):
    x = lib.tensor(data, requires_grad=True)
    fn = getattr(lib.nn.functional, name)
    wants_indices = name.startswith(("max", "adaptive_max"))
    if wants_indices:
        out, idx = fn(x, **kw, return_indices=True) if isinstance(kw, dict) else fn(
            x, kw, return_indices=True
        )  # fmt: skip
    else:
        out, idx = (fn(x, **kw) if isinstance(kw, dict) else fn(x, kw)), None
    cot = lib.tensor(np.cos(np.arange(out.numel())).reshape(out.shape))
    (gx,) = lib.autograd.grad((out * cot).sum(), x)
    found = [out.detach().numpy(), gx.numpy()]
    return found + ([] if idx is None else [idx.numpy()])


@pytest.mark.parametrize("name,shape,kw", MAX + AVG + ADAPTIVE)
def test_values_indices_and_gradients_match_torch(name, shape, kw):
    data = np.random.default_rng(0).standard_normal(shape)
    expected = _values_and_grads(torch, name, shape, kw, data)
    got = _values_and_grads(ember, name, shape, kw, data)
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name,shape,kw", MAX[::2] + AVG[1:3] + ADAPTIVE[::2])
def test_gradgradcheck(name, shape, kw):
    x = ember.tensor(np.random.default_rng(1).standard_normal(shape), requires_grad=True)
    fn = getattr(ember.nn.functional, name)
    assert gradgradcheck(lambda t: fn(t, **kw) if isinstance(kw, dict) else fn(t, kw), [x])


def test_tiling_windows_run_the_same_op_as_overlapping_ones():
    x = ember.randn(1, 2, 6, 6, requires_grad=True)
    with registry.only("numpy"):
        tiled = ember.nn.functional.max_pool2d(x, 2)
        overlapping = ember.nn.functional.max_pool2d(x, 3, 1)
        assert registry.last_used("max_pool") == "numpy"
    assert type(tiled.grad_fn) is type(overlapping.grad_fn)


@pytest.mark.parametrize("kernel", [2, 3])
def test_max_unpool3d_inverts_max_pool3d_as_torch(kernel):
    data = np.random.default_rng(2).standard_normal((2, 2, 6, 7, 6))
    results = []
    for lib in (torch, ember):
        x = lib.tensor(data)
        out, idx = lib.nn.functional.max_pool3d(x, kernel, return_indices=True)
        out.requires_grad_(True)
        up = lib.nn.functional.max_unpool3d(out, idx, kernel, output_size=x.shape)
        (g,) = lib.autograd.grad((up * up).sum(), out)
        results.append([up.detach().numpy(), g.numpy()])
    for g, e in zip(*results[::-1]):
        np.testing.assert_allclose(g, e, rtol=1e-12)


def test_bad_pooling_arguments_raise_as_torch():
    for lib in (torch, ember):
        F = lib.nn.functional
        with pytest.raises(RuntimeError):
            F.max_pool3d(lib.zeros(1, 1, 4, 4), 2)
        with pytest.raises(RuntimeError, match="pad should be at most half"):
            F.avg_pool3d(lib.zeros(1, 1, 4, 4, 4), 2, padding=2)
        with pytest.raises(RuntimeError):
            F.max_pool3d(lib.zeros(1, 1, 2, 2, 2), 3)
