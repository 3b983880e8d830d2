"""Every distribution against torch.distributions built from the same parameters (float64)."""

import numpy as np
import pytest
import torch

import ember
from tests.distributions.cases import CASES, build

TOL = 1e-6
PROPERTIES = ["mean", "variance", "stddev", "mode"]


def _value(lib, case):
    return lib.tensor(case.value)


def _compare(e, t, what):
    e_arr = e.detach().numpy() if isinstance(e, ember.Tensor) else np.asarray(e)
    t_arr = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    assert e_arr.shape == t_arr.shape, f"{what}: shape {e_arr.shape} vs torch {t_arr.shape}"
    np.testing.assert_allclose(e_arr, t_arr, rtol=TOL, atol=TOL, err_msg=what)


def _torch_result(fn):
    """torch's value, or None where torch does not implement it."""
    try:
        return fn()
    except NotImplementedError:
        return None


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_shapes_and_support_flags(case):
    e_dist, _ = build(ember, case)
    t_dist, _ = build(torch, case)
    assert tuple(e_dist.batch_shape) == tuple(t_dist.batch_shape)
    assert tuple(e_dist.event_shape) == tuple(t_dist.event_shape)
    assert e_dist.has_rsample == t_dist.has_rsample
    assert e_dist.has_enumerate_support == t_dist.has_enumerate_support
    assert repr(e_dist.support).replace("ember", "torch") == repr(t_dist.support)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_log_prob_and_its_gradients(case):
    e_dist, e_params = build(ember, case, requires_grad=True)
    t_dist, t_params = build(torch, case, requires_grad=True)
    e_lp = e_dist.log_prob(_value(ember, case))
    t_lp = t_dist.log_prob(_value(torch, case))
    _compare(e_lp, t_lp, "log_prob")
    weights = np.random.default_rng(0).uniform(0.5, 1.5, size=t_lp.shape)
    (e_lp * ember.tensor(weights)).sum().backward()
    (t_lp * torch.tensor(weights)).sum().backward()
    for name in case.grad:
        assert e_params[name].grad is not None, f"no gradient for {name}"
        _compare(e_params[name].grad, t_params[name].grad, f"d log_prob / d {name}")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("prop", PROPERTIES)
def test_moments_and_mode(case, prop):
    e_dist, _ = build(ember, case)
    t_dist, _ = build(torch, case)
    expected = _torch_result(lambda: getattr(t_dist, prop))
    if expected is None:
        with pytest.raises(NotImplementedError):
            getattr(e_dist, prop)
        return
    _compare(getattr(e_dist, prop), expected, prop)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_entropy_and_its_gradients(case):
    e_dist, e_params = build(ember, case, requires_grad=True)
    t_dist, t_params = build(torch, case, requires_grad=True)
    t_h = _torch_result(t_dist.entropy)
    if t_h is None:
        with pytest.raises(NotImplementedError):
            e_dist.entropy()
        return
    e_h = e_dist.entropy()
    _compare(e_h, t_h, "entropy")
    if t_h.requires_grad:
        e_h.sum().backward()
        t_h.sum().backward()
        for name in case.grad:
            if t_params[name].grad is not None:
                _compare(e_params[name].grad, t_params[name].grad, f"d entropy / d {name}")


@pytest.mark.parametrize("case", [c for c in CASES if c.probs is not None],
                         ids=[c.name for c in CASES if c.probs is not None])  # fmt: skip
def test_cdf_and_icdf(case):
    e_dist, _ = build(ember, case)
    t_dist, _ = build(torch, case)
    _compare(e_dist.cdf(_value(ember, case)), t_dist.cdf(_value(torch, case)), "cdf")
    _compare(e_dist.icdf(ember.tensor(case.probs)), t_dist.icdf(torch.tensor(case.probs)), "icdf")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("sample_shape", [(), (5,), (4, 2)])
def test_sample_shapes(case, sample_shape):
    e_dist, _ = build(ember, case)
    t_dist, _ = build(torch, case)
    e_s, t_s = e_dist.sample(sample_shape), t_dist.sample(sample_shape)
    assert tuple(e_s.shape) == tuple(t_s.shape)
    assert e_s.dtype.name == str(t_s.dtype).removeprefix("torch.")
    assert not e_s.requires_grad
    if t_dist.has_rsample:
        assert tuple(e_dist.rsample(sample_shape).shape) == tuple(t_s.shape)
    assert bool(e_dist.support.check(e_s).all())


@pytest.mark.parametrize("case", [c for c in CASES if c.moments],
                         ids=[c.name for c in CASES if c.moments])  # fmt: skip
def test_sample_statistics(case):
    ember.manual_seed(0)
    e_dist, _ = build(ember, case)
    n = 20000
    draws = e_dist.sample((n,)).double().numpy()
    mean, var = e_dist.mean.detach().numpy(), e_dist.variance.detach().numpy()
    standard_error = np.sqrt(var / n)
    assert np.all(np.abs(draws.mean(0) - mean) < 5 * standard_error + 1e-9)
    fourth = ((draws - mean) ** 4).mean(0)
    # the first-order error vanishes for a fair coin (fourth moment = var^2); var / n bounds
    # the second-order one, from estimating the mean
    var_error = np.sqrt(np.maximum(fourth - var**2, 0) / n) + var / n
    assert np.all(np.abs(draws.var(0) - var) < 5 * var_error + 1e-9)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_expand(case):
    e_dist, _ = build(ember, case)
    t_dist, _ = build(torch, case)
    new_batch = (2, *e_dist.batch_shape)
    e_big, t_big = e_dist.expand(new_batch), t_dist.expand(new_batch)
    assert tuple(e_big.batch_shape) == tuple(t_big.batch_shape)
    assert tuple(e_big.event_shape) == tuple(t_big.event_shape)
    assert tuple(e_big.sample((3,)).shape) == tuple(t_big.sample((3,)).shape)
    value = np.expand_dims(case.value, 1)  # (n, 1, *batch, *event) against (2, *batch)
    _compare(e_big.log_prob(ember.tensor(value)), t_big.log_prob(torch.tensor(value)), "log_prob")


def test_sampling_is_reproducible_with_manual_seed():
    d = ember.distributions
    dists = [
        d.Normal(0.0, 1.0),
        d.Gamma(ember.tensor(2.0), ember.tensor(1.0)),
        d.Categorical(ember.tensor([0.2, 0.3, 0.5])),
        d.Poisson(ember.tensor(3.0)),
    ]
    for dist in dists:
        ember.manual_seed(7)
        first = dist.sample((10,))
        ember.manual_seed(7)
        np.testing.assert_array_equal(first.numpy(), dist.sample((10,)).numpy())
