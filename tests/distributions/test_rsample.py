"""Reparameterised samples: gradients reach the parameters and have the right expectation."""

import numpy as np
import pytest
import torch

import ember

D = ember.distributions
N = 20000


def _grads(dist_fn, params, n=N, seed=0):
    """d mean(rsample) / d parameter, for each parameter."""
    ember.manual_seed(seed)
    leaves = [ember.tensor(np.asarray(p, dtype=np.float64), requires_grad=True) for p in params]
    sample = dist_fn(*leaves).rsample((n,))
    sample.mean().backward()
    return [leaf.grad.numpy() for leaf in leaves], sample


@pytest.mark.parametrize("family", ["Normal", "Laplace", "Gumbel", "Cauchy"])
def test_location_gradient_of_the_mean_sample_is_one(family):
    (g_loc, g_scale), sample = _grads(getattr(D, family), [0.3, 1.7], n=1000)
    assert g_loc == pytest.approx(1.0, abs=1e-12)
    standardized = (sample.detach().numpy() - 0.3) / 1.7
    assert g_scale == pytest.approx(standardized.mean(), rel=1e-9)


def test_uniform_and_exponential_gradients_are_exact_per_sample():
    (g_low, g_high), s = _grads(D.Uniform, [-1.0, 3.0], n=1000)
    u = (s.detach().numpy() + 1.0) / 4.0
    assert g_low == pytest.approx((1 - u).mean()) and g_high == pytest.approx(u.mean())
    (g_rate,), s = _grads(D.Exponential, [2.0], n=1000)
    assert g_rate == pytest.approx(-(s.detach().numpy() / 2.0).mean())


def test_gamma_sample_gradient_matches_torchs_per_sample():
    ember.manual_seed(0)
    alpha = ember.tensor(np.array([0.3, 1.0, 2.5, 9.0]), requires_grad=True)
    sample = D.Gamma(alpha, ember.tensor(1.0)).rsample((500,))
    sample.sum().backward()  # the per-sample gradients add up into alpha.grad
    per_sample = torch._standard_gamma_grad(
        torch.tensor(alpha.detach().numpy()).expand(500, 4), torch.tensor(sample.detach().numpy())
    )
    np.testing.assert_allclose(alpha.grad.numpy(), per_sample.sum(0).numpy(), rtol=2e-3)


@pytest.mark.parametrize("alpha,rate", [(0.5, 1.0), (2.0, 3.0), (7.0, 0.5)])
def test_gamma_mean_gradient_in_expectation(alpha, rate):
    (g_alpha, g_rate), _ = _grads(D.Gamma, [alpha, rate])
    assert g_alpha == pytest.approx(1 / rate, rel=0.05)  # d/da (a / b)
    assert g_rate == pytest.approx(-alpha / rate**2, rel=0.05)  # d/db (a / b)


def test_beta_mean_gradient_in_expectation():
    a, b = 2.0, 3.0
    (g_a, g_b), _ = _grads(D.Beta, [a, b])
    assert g_a == pytest.approx(b / (a + b) ** 2, rel=0.05)
    assert g_b == pytest.approx(-a / (a + b) ** 2, rel=0.05)


def test_dirichlet_mean_gradient_in_expectation():
    ember.manual_seed(0)
    conc = ember.tensor([1.5, 2.0, 3.5], requires_grad=True)
    D.Dirichlet(conc).rsample((N,))[:, 0].mean().backward()
    total = 7.0
    expected = np.array([total - 1.5, -1.5, -1.5]) / total**2  # d/da_j (a_0 / sum a)
    np.testing.assert_allclose(conc.grad.numpy(), expected, rtol=0.05, atol=2e-3)


def test_student_t_and_chi2_gradients():
    (g_df, g_loc, g_scale), _ = _grads(D.StudentT, [6.0, 0.5, 2.0])
    assert g_loc == pytest.approx(1.0)
    assert abs(g_df) < 0.01 and abs(g_scale) < 0.05  # the mean is loc for df > 1
    (g_chi_df,), _ = _grads(D.Chi2, [3.0])
    assert g_chi_df == pytest.approx(1.0, rel=0.05)  # E = df


def test_multivariate_normal_gradients():
    cov = np.array([[2.0, 0.3], [0.3, 1.0]])
    (g_loc, _), _ = _grads(lambda m, c: D.MultivariateNormal(m, c), [[0.5, -0.5], cov], n=100)
    np.testing.assert_allclose(g_loc, [0.5, 0.5])  # mean over 2 components
    (g_loc, g_factor, g_diag), _ = _grads(
        D.LowRankMultivariateNormal, [[0.5, -0.5], [[1.0], [0.5]], [1.0, 2.0]], n=100
    )
    np.testing.assert_allclose(g_loc, [0.5, 0.5])
    assert np.all(np.isfinite(g_factor)) and np.all(np.isfinite(g_diag))


def test_relaxed_distributions_pass_gradients_to_their_probabilities():
    ember.manual_seed(0)
    probs = ember.tensor([0.2, 0.7], requires_grad=True)
    D.RelaxedBernoulli(ember.tensor(0.5), probs).rsample((2000,)).mean(0).sum().backward()
    assert np.all(probs.grad.numpy() > 0)  # a larger p gives larger relaxed samples
    logits = ember.tensor([0.1, -0.3, 0.4], requires_grad=True)
    sample = D.RelaxedOneHotCategorical(ember.tensor(0.5), logits=logits).rsample((2000,))
    sample[:, 0].mean().backward()
    assert logits.grad.numpy()[0] > 0 > logits.grad.numpy()[1]


def test_sample_carries_no_gradient_and_discrete_ones_have_no_rsample():
    loc = ember.tensor([0.0], requires_grad=True)
    assert not D.Normal(loc, 1.0).sample((3,)).requires_grad
    with pytest.raises(NotImplementedError):
        D.Poisson(ember.tensor([1.0])).rsample()
    with pytest.raises(NotImplementedError):
        D.Categorical(ember.tensor([0.5, 0.5])).rsample()


def test_categorical_sample_frequencies():
    ember.manual_seed(0)
    probs = np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])
    draws = D.Categorical(ember.tensor(probs)).sample((N,)).numpy()
    for row in range(2):
        freq = np.bincount(draws[:, row], minlength=3) / N
        np.testing.assert_allclose(freq, probs[row], atol=5 * np.sqrt(0.25 / N))


def test_straight_through_sample_passes_the_gradient_to_probs():
    probs = ember.tensor([[0.2, 0.3, 0.5]], dtype=ember.float64, requires_grad=True)
    weights = ember.tensor([1.0, -2.0, 3.0], dtype=ember.float64)
    sample = D.OneHotCategoricalStraightThrough(probs).rsample((4,))
    assert set(sample.detach().sum(-1).numpy().ravel()) == {1.0}
    (sample * weights).sum().backward()
    w, p = weights.numpy(), probs.detach().numpy()
    # probs are normalised inside: d (p_i / sum p) / d p_j = [i == j] - p_i where sum p = 1
    np.testing.assert_allclose(probs.grad.numpy(), 4 * (w - (w * p).sum())[None])
