"""Details beyond the shared table: cdfs without icdf, enumerate_support, matrix properties."""

import numpy as np
import pytest
import torch

import ember
from tests.distributions.cases import BY_NAME, build


def _close(e, t, tol=1e-6):
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ["Gamma", "Chi2", "MixtureSameFamily"])
def test_cdf_without_icdf(name):
    case = BY_NAME[name]
    e, t = build(ember, case)[0], build(torch, case)[0]
    _close(e.cdf(ember.tensor(np.abs(case.value))), t.cdf(torch.tensor(np.abs(case.value))))


@pytest.mark.parametrize("name", ["Bernoulli", "Categorical", "OneHotCategorical", "Binomial"])
@pytest.mark.parametrize("expand", [True, False])
def test_enumerate_support(name, expand):
    case = BY_NAME[name]
    e, t = build(ember, case)[0], build(torch, case)[0]
    _close(e.enumerate_support(expand), t.enumerate_support(expand))


@pytest.mark.parametrize("name", ["MVN-covariance", "MVN-precision", "MVN-scale_tril",
                                  "LowRankMVN"])  # fmt: skip
@pytest.mark.parametrize("prop", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_gaussian_matrix_properties(name, prop):
    case = BY_NAME[name]
    e, t = build(ember, case)[0], build(torch, case)[0]
    _close(getattr(e, prop), getattr(t, prop))


def test_perplexity_and_repr():
    case = BY_NAME["Normal"]
    e, t = build(ember, case)[0], build(torch, case)[0]
    _close(e.perplexity(), t.perplexity())
    assert repr(e).replace("ember", "torch") == repr(t)
    scalar = ember.distributions.Normal(ember.tensor(0.0), ember.tensor(1.0))
    assert repr(scalar) == "Normal(loc: 0.0, scale: 1.0)"


def test_binomial_entropy_needs_a_single_total_count():
    with pytest.raises(NotImplementedError, match="Inhomogeneous"):
        build(ember, BY_NAME["Binomial-logits"])[0].entropy()


def test_independent_rejects_too_many_reinterpreted_dims():
    normal = ember.distributions.Normal(ember.zeros(3), 1.0)
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims"):
        ember.distributions.Independent(normal, 2)


def test_mixture_rejects_mismatched_components():
    D = ember.distributions
    with pytest.raises(ValueError, match="component"):
        D.MixtureSameFamily(D.Categorical(ember.ones(2)), D.Normal(ember.zeros(3), 1.0))


def test_mvn_needs_exactly_one_matrix():
    D = ember.distributions
    with pytest.raises(ValueError, match="Exactly one"):
        D.MultivariateNormal(ember.zeros(2))
    with pytest.raises(ValueError, match="Exactly one"):
        D.MultivariateNormal(ember.zeros(2), ember.eye(2), scale_tril=ember.eye(2))


def test_top_level_special_names_reach_the_same_ops():
    x = ember.tensor([0.5, 2.0])
    np.testing.assert_allclose(ember.lgamma(x).numpy(), torch.lgamma(torch.tensor([0.5, 2.0])))
    np.testing.assert_allclose(ember.special.psi(x).numpy(), ember.digamma(x).numpy())
