"""kl_divergence against torch, and register_kl dispatch."""

import numpy as np
import pytest
import torch

import ember
from tests.distributions.cases import BY_NAME, build

PAIRS = [
    ("Normal", "Normal"), ("Laplace", "Laplace"), ("Bernoulli", "Bernoulli-logits"),
    ("Categorical", "Categorical-logits"), ("OneHotCategorical", "OneHotCategorical"),
    ("Beta", "Beta"), ("Gamma", "Gamma"), ("Dirichlet", "Dirichlet"), ("Uniform", "Uniform"),
    ("Exponential", "Exponential"), ("Poisson", "Poisson"), ("Geometric", "Geometric-logits"),
    ("MVN-covariance", "MVN-scale_tril"), ("MVN-precision", "MVN-covariance"),
    ("Independent-Normal", "Independent-Normal"), ("Cauchy", "Cauchy"), ("Gumbel", "Gumbel"),
    ("HalfNormal", "HalfNormal"), ("Binomial", "Binomial"), ("LogNormal", "LogNormal"),
    ("Chi2", "Chi2"),
]  # fmt: skip


def _other(case):
    """The same family with other parameter values (shifted, or scaled, within the support)."""
    from dataclasses import replace

    params = {}
    for k, v in case.params.items():
        if k == "probs":
            params[k] = v[::-1].copy()
        elif k in ("cov", "prec"):
            params[k] = v[..., ::-1, ::-1].copy()  # a permutation: still positive-definite
        elif k == "tril":
            params[k] = v * 1.3
        elif k == "low":
            params[k] = v * 1.5  # a wider support than p's: finite KL
        elif k == "high":
            params[k] = v * 1.5
        else:
            params[k] = v * 1.3 if np.all(v > 0) else v + 0.4
    return replace(case, params=params)


@pytest.mark.parametrize("p_name,q_name", PAIRS, ids=[f"{p}-{q}" for p, q in PAIRS])
def test_kl_matches_torch_with_gradients(p_name, q_name):
    p_case, q_case = BY_NAME[p_name], _other(BY_NAME[q_name])
    e_p, e_p_params = build(ember, p_case, requires_grad=True)
    e_q, _ = build(ember, q_case)
    t_p, t_p_params = build(torch, p_case, requires_grad=True)
    t_q, _ = build(torch, q_case)
    e_kl = ember.distributions.kl_divergence(e_p, e_q)
    t_kl = torch.distributions.kl_divergence(t_p, t_q)
    assert tuple(e_kl.shape) == tuple(t_kl.shape)
    np.testing.assert_allclose(e_kl.detach().numpy(), t_kl.detach().numpy(), rtol=1e-6)
    e_kl.sum().backward()
    t_kl.sum().backward()
    for name in p_case.grad:
        np.testing.assert_allclose(e_p_params[name].grad.numpy(), t_p_params[name].grad.numpy(),
                                   rtol=1e-6, atol=1e-9, err_msg=name)  # fmt: skip


def test_kl_of_a_distribution_with_itself_is_zero():
    for name in ("Normal", "Gamma", "Dirichlet", "MVN-covariance", "Categorical"):
        p, _ = build(ember, BY_NAME[name])
        kl = ember.distributions.kl_divergence(p, p).numpy()
        np.testing.assert_allclose(kl, np.zeros_like(kl), atol=1e-12)


def test_uniform_kl_is_infinite_when_q_misses_support():
    D = ember.distributions
    kl = D.kl_divergence(D.Uniform(0.0, 2.0), D.Uniform(0.5, 3.0))
    assert kl.item() == float("inf")


def test_unregistered_pair_raises():
    D = ember.distributions
    with pytest.raises(NotImplementedError, match="Gumbel"):
        D.kl_divergence(D.Gumbel(0.0, 1.0), D.Normal(0.0, 1.0))


def test_register_kl_picks_the_most_specific_pair():
    D = ember.distributions

    class ShiftedNormal(D.Normal):
        pass

    @D.register_kl(ShiftedNormal, D.Normal)
    def _kl_shifted(p, q):
        return p.loc * 0 + 42.0

    try:
        assert D.kl_divergence(ShiftedNormal(0.0, 1.0), D.Normal(0.0, 1.0)).item() == 42.0
        assert D.kl_divergence(D.Normal(0.0, 1.0), ShiftedNormal(1.0, 1.0)).item() == 0.5
    finally:
        from ember.distributions import kl

        del kl._KL_REGISTRY[ShiftedNormal, D.Normal]
    with pytest.raises(TypeError):
        D.register_kl("Normal", D.Normal)
