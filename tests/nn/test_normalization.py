"""Normalisation layers against torch, including running statistics over several steps."""

import numpy as np
import pytest
import torch

import ember
from tests.nn.helpers import compare_modules

rng = np.random.default_rng(0)


def both(name, *args, **kwargs):
    return getattr(torch.nn, name)(*args, **kwargs), getattr(ember.nn, name)(*args, **kwargs)


@pytest.mark.parametrize(
    "name,shape",
    [
        ("BatchNorm1d", (6, 3)),
        ("BatchNorm1d", (6, 3, 5)),
        ("BatchNorm2d", (4, 3, 5, 5)),
        ("BatchNorm3d", (2, 3, 2, 3, 4)),
    ],
)
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_train_steps_then_eval(name, shape, momentum):
    t, e = both(name, 3, momentum=momentum)
    compare_modules(t, e, [rng.standard_normal(shape)])
    for step in range(3):
        x = rng.standard_normal(shape) * (step + 1) + step
        t(torch.tensor(x))
        e(ember.tensor(x))
    np.testing.assert_allclose(e.running_mean.numpy(), t.running_mean.numpy(), rtol=1e-6)
    np.testing.assert_allclose(e.running_var.numpy(), t.running_var.numpy(), rtol=1e-6)
    assert e.num_batches_tracked.item() == t.num_batches_tracked.item()
    compare_modules(t, e, [rng.standard_normal(shape)], train=False)
    assert repr(t) == repr(e)
    assert list(e.state_dict()) == list(t.state_dict())


def test_batchnorm_without_affine_or_running_stats():
    t, e = both("BatchNorm2d", 3, affine=False, track_running_stats=False)
    compare_modules(t, e, [rng.standard_normal((4, 3, 2, 2))], train=False)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,norm", [((4, 6), 6), ((2, 3, 4, 5), (4, 5))])
def test_layernorm(dtype, shape, norm):
    t, e = both("LayerNorm", norm)
    with torch.no_grad():
        t.weight.copy_(torch.tensor(rng.standard_normal(t.weight.shape)))
        t.bias.copy_(torch.tensor(rng.standard_normal(t.bias.shape)))
    compare_modules(t, e, [rng.standard_normal(shape)], dtype, rtol=1e-5, atol=1e-5)
    assert repr(t) == repr(e)


def test_layernorm_without_bias_and_without_affine():
    for kwargs in (dict(bias=False), dict(elementwise_affine=False)):
        t, e = both("LayerNorm", 5, **kwargs)
        compare_modules(t, e, [rng.standard_normal((3, 5))])


def test_groupnorm_and_instancenorm():
    t, e = both("GroupNorm", 2, 6)
    with torch.no_grad():
        t.weight.copy_(torch.tensor(rng.standard_normal(6)))
    compare_modules(t, e, [rng.standard_normal((3, 6, 4, 4))])
    assert repr(t) == repr(e)
    t, e = both("InstanceNorm2d", 3, affine=True)
    compare_modules(t, e, [rng.standard_normal((2, 3, 4, 4))])


def test_local_response_norm():
    t, e = both("LocalResponseNorm", 3)
    compare_modules(t, e, [rng.standard_normal((2, 5, 3, 3))])


def test_layernorm_double_backward_matches_torch():
    x = rng.standard_normal((3, 4))
    out = []
    for lib in (torch, ember):
        xt = lib.tensor(x, requires_grad=True)
        y = lib.nn.functional.layer_norm(xt, (4,))
        (g,) = lib.autograd.grad((y * y * y).sum(), xt, create_graph=True)
        (h,) = lib.autograd.grad(g.sum(), xt)
        out.append(h.numpy())
    np.testing.assert_allclose(out[1], out[0], rtol=1e-6, atol=1e-8)


def test_shape_errors_are_clear():
    with pytest.raises(RuntimeError, match="normalized_shape"):
        ember.nn.LayerNorm(4)(ember.zeros(2, 5))
    with pytest.raises(ValueError, match="expected 4D input"):
        ember.nn.BatchNorm2d(3)(ember.zeros(2, 3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        ember.nn.BatchNorm1d(3)(ember.zeros(1, 3))
