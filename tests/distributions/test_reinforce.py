"""A REINFORCE policy-gradient step: the same parameter update as under torch."""

import numpy as np
import torch

import ember


def _policy_step(lib, weights, states, actions, returns, lr=0.1):
    """One step of REINFORCE with a linear softmax policy; the actions are given, not drawn."""
    w = lib.nn.Parameter(lib.tensor(weights))
    optimizer = lib.optim.SGD([w], lr=lr)
    policy = lib.distributions.Categorical(logits=lib.tensor(states) @ w)
    log_probs = policy.log_prob(lib.tensor(actions))
    loss = -(log_probs * lib.tensor(returns)).sum() - 0.01 * policy.entropy().sum()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return w.detach().numpy(), loss.item()


def test_reinforce_update_matches_torch():
    rng = np.random.default_rng(3)
    weights = rng.normal(size=(4, 3))
    for _ in range(3):
        states = rng.normal(size=(8, 4))
        actions = rng.integers(0, 3, size=8)  # the same actions fed to both
        returns = rng.normal(size=8)
        e_weights, e_loss = _policy_step(ember, weights, states, actions, returns)
        t_weights, t_loss = _policy_step(torch, weights, states, actions, returns)
        np.testing.assert_allclose(e_weights, t_weights, rtol=1e-10, atol=1e-12)
        assert e_loss == np.float64(t_loss) or abs(e_loss - t_loss) < 1e-10
        weights = e_weights
