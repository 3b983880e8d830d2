"""nn.utils: gradient clipping and parameter vectors against torch."""

import numpy as np
import pytest
import torch
from torch.nn import utils as tu

import ember
from ember.nn import utils as eu


def grads_in_both(seed=0, scale=1.0, dtype="float32"):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (5,), (2, 2, 2)]
    arrays = [rng.standard_normal(s).astype(dtype) * scale for s in shapes]
    gs = [rng.standard_normal(s).astype(dtype) * scale for s in shapes]
    t = [torch.nn.Parameter(torch.tensor(a)) for a in arrays]
    e = [ember.nn.Parameter(ember.tensor(a)) for a in arrays]
    for tp, ep, g in zip(t, e, gs):
        tp.grad, ep.grad = torch.tensor(g), ember.tensor(g)
    t.append(torch.nn.Parameter(torch.zeros(2)))  # no gradient: skipped
    e.append(ember.nn.Parameter(ember.zeros(2)))
    return t, e


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, float("inf")])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, dtype):
    t, e = grads_in_both(dtype=dtype)
    t_total = tu.clip_grad_norm_(t, max_norm, norm_type)
    e_total = eu.clip_grad_norm_(e, max_norm, norm_type)
    assert e_total.dtype == getattr(ember, dtype)
    np.testing.assert_allclose(e_total.numpy(), t_total.numpy(), rtol=1e-5)
    for tp, ep in zip(t[:-1], e[:-1]):
        np.testing.assert_allclose(ep.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_clip_grad_norm_nonfinite():
    _, e = grads_in_both()
    e[0].grad.numpy()[0, 0] = np.inf
    with pytest.raises(RuntimeError, match="non-finite"):
        eu.clip_grad_norm_(e, 1.0, error_if_nonfinite=True)
    assert np.isinf(eu.clip_grad_norm_(e, 1.0).item())
    single = ember.nn.Parameter(ember.ones(3))
    single.grad = ember.ones(3) * 4
    eu.clip_grad_norm_(single, 1.0)
    np.testing.assert_allclose(np.linalg.norm(single.grad.numpy()), 1.0, rtol=1e-5)


def test_clip_grad_value_matches_torch():
    t, e = grads_in_both()
    tu.clip_grad_value_(t, 0.3)
    eu.clip_grad_value_(e, 0.3)
    for tp, ep in zip(t[:-1], e[:-1]):
        np.testing.assert_array_equal(ep.grad.numpy(), tp.grad.numpy())


def test_parameters_to_vector_and_back():
    t, e = grads_in_both()
    tv, ev = tu.parameters_to_vector(t), eu.parameters_to_vector(e)
    np.testing.assert_array_equal(ev.detach().numpy(), tv.detach().numpy())
    ev.sum().backward()  # differentiable, as torch's
    assert e[0].grad is not None
    new = np.arange(ev.numel(), dtype=np.float32)
    eu.vector_to_parameters(ember.tensor(new), e)
    tu.vector_to_parameters(torch.tensor(new), t)
    for tp, ep in zip(t, e):
        np.testing.assert_array_equal(ep.detach().numpy(), tp.detach().numpy())
        assert isinstance(ep, ember.nn.Parameter)
    with pytest.raises(TypeError):
        eu.vector_to_parameters(ember.zeros(2, 2), e)
