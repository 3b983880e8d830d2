"""L-BFGS against PyTorch: a closure that sets NumPy gradients, the same iterates."""

import numpy as np
import pytest
import torch

import ember
import ember.optim as eoptim


def rosenbrock(arrays):
    """Loss and gradients of a Rosenbrock valley over the parameters joined end to end."""
    x = np.concatenate([a.reshape(-1) for a in arrays])
    a, b = x[:-1], x[1:]
    loss = float(np.sum(100.0 * (b - a * a) ** 2 + (1 - a) ** 2))
    g = np.zeros_like(x)
    g[:-1] += -400.0 * a * (b - a * a) - 2 * (1 - a)
    g[1:] += 200.0 * (b - a * a)
    out, offset = [], 0
    for arr in arrays:
        out.append(g[offset : offset + arr.size].reshape(arr.shape))
        offset += arr.size
    return loss, out


def make(lib, opt_kwargs, init):
    params = [lib.tensor(a.copy(), requires_grad=True) for a in init]
    opt = lib.optim.LBFGS(params, **opt_kwargs)

    def closure():
        loss, grads = rosenbrock([p.detach().numpy() for p in params])
        for p, g in zip(params, grads):
            p.grad = lib.tensor(g)
        return lib.tensor(loss)

    return params, opt, closure


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(lr=0.1, max_iter=5),
        dict(lr=1, max_iter=10, history_size=3),
        dict(lr=1, max_iter=8, line_search_fn="strong_wolfe"),
        dict(lr=0.5, max_iter=4, history_size=2, line_search_fn="strong_wolfe"),
    ],
    ids=["small-step", "short-history", "strong-wolfe", "strong-wolfe-short"],
)
def test_iterates_match_torch(kwargs):
    init = [np.array([-1.2, 1.0, 0.5]), np.array([[0.8], [1.3]])]
    ours = make(ember, kwargs, init)
    ref = make(torch, kwargs, init)
    for outer in range(6):
        loss_ours = ours[1].step(ours[2])
        loss_ref = ref[1].step(ref[2])
        assert float(loss_ours) == pytest.approx(float(loss_ref), rel=1e-9)
        for a, b in zip(ours[0], ref[0]):
            np.testing.assert_allclose(
                a.detach().numpy(), b.detach().numpy(), rtol=1e-8, atol=1e-10, err_msg=outer
            )
    state_ours = ours[1].state[ours[0][0]]
    state_ref = ref[1].state[ref[0][0]]
    assert state_ours["func_evals"] == state_ref["func_evals"]
    assert state_ours["n_iter"] == state_ref["n_iter"]


def test_needs_a_closure_and_one_group():
    p = ember.tensor(np.zeros(2), requires_grad=True)
    q = ember.tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(ValueError):
        eoptim.LBFGS([{"params": [p]}, {"params": [q]}])
    with pytest.raises(TypeError):
        eoptim.LBFGS([p]).step()


def test_state_dict_round_trip():
    init = [np.array([-1.2, 1.0, 0.5]), np.array([[0.8], [1.3]])]
    kwargs = dict(max_iter=3, history_size=4, line_search_fn="strong_wolfe")
    ours = make(ember, kwargs, init)
    for _ in range(3):
        ours[1].step(ours[2])
    resumed = make(ember, kwargs, [p.detach().numpy() for p in ours[0]])
    resumed[1].load_state_dict(ours[1].state_dict())
    for _ in range(3):
        ours[1].step(ours[2])
        resumed[1].step(resumed[2])
        for a, b in zip(ours[0], resumed[0]):
            np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
