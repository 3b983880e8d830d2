"""Argument and value validation: ValueError on bad parameters and on values off the support."""

import numpy as np
import pytest
import torch

import ember

D = ember.distributions


@pytest.fixture
def restore_default_validation():
    yield
    D.Distribution.set_default_validate_args(True)


BAD_PARAMS = [
    ("Normal", lambda t: t.distributions.Normal(t.tensor([0.0]), t.tensor([-1.0])), "scale"),
    ("Exponential", lambda t: t.distributions.Exponential(t.tensor([0.0])), "rate"),
    ("Gamma", lambda t: t.distributions.Gamma(t.tensor([1.0]), t.tensor([-2.0])), "rate"),
    ("Beta", lambda t: t.distributions.Beta(t.tensor([0.0]), t.tensor([1.0])), "concentration1"),
    ("Bernoulli", lambda t: t.distributions.Bernoulli(t.tensor([1.5])), "probs"),
    ("Categorical", lambda t: t.distributions.Categorical(t.tensor([0.5, -0.1])), "probs"),
    ("Dirichlet", lambda t: t.distributions.Dirichlet(t.tensor([1.0, 0.0])), "concentration"),
    ("Poisson", lambda t: t.distributions.Poisson(t.tensor([-1.0])), "rate"),
    ("MVN", lambda t: t.distributions.MultivariateNormal(
        t.zeros(2), covariance_matrix=t.tensor([[1.0, 2.0], [2.0, 1.0]])), "covariance_matrix"),
    ("MVN-tril", lambda t: t.distributions.MultivariateNormal(
        t.zeros(2), scale_tril=t.tensor([[1.0, 0.0], [0.5, -1.0]])), "scale_tril"),
    ("StudentT", lambda t: t.distributions.StudentT(t.tensor([-1.0])), "df"),
    ("Binomial", lambda t: t.distributions.Binomial(t.tensor([2.5]), t.tensor([0.5])),
     "total_count"),
]  # fmt: skip


@pytest.mark.parametrize("name,make,param", BAD_PARAMS, ids=[b[0] for b in BAD_PARAMS])
def test_bad_parameters_raise_value_error(name, make, param):
    with pytest.raises(ValueError):
        make(torch)  # the oracle agrees that the parameter is bad
    with pytest.raises(ValueError, match=f"Expected parameter {param}"):
        make(ember)


def test_uniform_low_not_below_high():
    with pytest.raises(ValueError, match="low >= high"):
        D.Uniform(ember.tensor([1.0]), ember.tensor([1.0]))


OFF_SUPPORT = [
    ("Exponential", lambda t: t.distributions.Exponential(t.tensor([1.0])), [-1.0]),
    ("Beta", lambda t: t.distributions.Beta(t.tensor([2.0]), t.tensor([2.0])), [1.5]),
    ("Poisson", lambda t: t.distributions.Poisson(t.tensor([2.0])), [1.5]),
    ("Bernoulli", lambda t: t.distributions.Bernoulli(t.tensor([0.3])), [2.0]),
    ("Uniform", lambda t: t.distributions.Uniform(t.tensor([0.0]), t.tensor([1.0])), [3.0]),
    ("Dirichlet", lambda t: t.distributions.Dirichlet(t.tensor([1.0, 2.0])), [0.7, 0.7]),
    ("Binomial", lambda t: t.distributions.Binomial(3, t.tensor([0.3])), [4.0]),
    ("LogNormal", lambda t: t.distributions.LogNormal(t.tensor([0.0]), t.tensor([1.0])), [-1.0]),
]  # fmt: skip


@pytest.mark.parametrize("name,make,value", OFF_SUPPORT, ids=[o[0] for o in OFF_SUPPORT])
def test_values_off_the_support_raise_value_error(name, make, value):
    with pytest.raises(ValueError):
        make(torch).log_prob(torch.tensor(value))
    with pytest.raises(ValueError, match="to be within the support"):
        make(ember).log_prob(ember.tensor(value))


def test_categorical_index_out_of_range():
    with pytest.raises(ValueError, match="support"):
        D.Categorical(ember.tensor([0.5, 0.5])).log_prob(ember.tensor(2))


def test_value_must_be_a_tensor_of_a_fitting_shape():
    with pytest.raises(ValueError, match="must be a Tensor"):
        D.Normal(0.0, 1.0).log_prob(1.0)
    with pytest.raises(ValueError, match="not broadcastable"):
        D.Normal(ember.zeros(3), 1.0).log_prob(ember.zeros(2))
    with pytest.raises(ValueError, match="event_shape"):
        D.MultivariateNormal(ember.zeros(3), ember.eye(3)).log_prob(ember.zeros(2))


def test_probs_and_logits_are_exclusive():
    for cls in (D.Bernoulli, D.Categorical, D.Geometric, D.Binomial):
        with pytest.raises(ValueError, match="not both"):
            cls(probs=ember.tensor([0.5]), logits=ember.tensor([0.0]))
        with pytest.raises(ValueError, match="not both"):
            cls()


def test_validate_args_false_gives_values_as_torch_does():
    e = D.Exponential(ember.tensor([1.0]), validate_args=False)
    t = torch.distributions.Exponential(torch.tensor([1.0]), validate_args=False)
    np.testing.assert_allclose(e.log_prob(ember.tensor([-1.0])).numpy(),
                               t.log_prob(torch.tensor([-1.0])).numpy())  # fmt: skip
    D.Normal(ember.tensor([0.0]), ember.tensor([-1.0]), validate_args=False)  # no error


def test_set_default_validate_args(restore_default_validation):
    D.Distribution.set_default_validate_args(False)
    D.Normal(ember.tensor([0.0]), ember.tensor([-1.0]))  # not checked
    D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        D.Normal(ember.tensor([0.0]), ember.tensor([-1.0]))
    with pytest.raises(ValueError):
        D.Distribution.set_default_validate_args("yes")


def test_constraint_checks_match_torch():
    c_e, c_t = D.constraints, torch.distributions.constraints
    value = np.array([[-1.0, 0.0, 0.5, 1.0, 2.0]])
    for name in ("real", "positive", "nonnegative", "unit_interval", "boolean",
                 "nonnegative_integer", "positive_integer"):  # fmt: skip
        got = getattr(c_e, name).check(ember.tensor(value)).numpy()
        expected = getattr(c_t, name).check(torch.tensor(value)).numpy()
        np.testing.assert_array_equal(got, expected, err_msg=name)
    for name in ("simplex", "real_vector"):
        got = getattr(c_e, name).check(ember.tensor(value)).numpy()
        expected = getattr(c_t, name).check(torch.tensor(value)).numpy()
        np.testing.assert_array_equal(got, expected, err_msg=name)
    assert repr(c_e.interval(0.0, 2.0)) == repr(c_t.interval(0.0, 2.0))
    assert c_e.is_dependent(c_e.dependent) and not c_e.is_dependent(c_e.real)
