"""Adafactor against torch 2.13: the same parameters and gradients give the same trajectory."""

import numpy as np
import pytest
import torch

import ember
import ember.optim as eoptim

SHAPES = [(4, 3), (5,), (2, 3, 4), (3, 1), ()]
STEPS = 25


def _loss(params, lib, targets):
    total = 0
    for p, t in zip(params, targets):
        total = total + ((p - lib.tensor(t)) ** 2 * lib.tensor(np.abs(t) + 0.5)).sum()
    return total


def _run(lib, optim_cls, init, targets, group_kwargs, steps):
    params = [lib.tensor(a.copy(), requires_grad=True) for a in init]
    groups = [{"params": params[:2]}, {"params": params[2:], **group_kwargs[1]}]
    opt = optim_cls(groups, **group_kwargs[0])
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        _loss(params, lib, targets).backward()
        opt.step()
        trajectory.append([p.detach().numpy().copy() for p in params])
    return trajectory, opt


CASES = [
    (dict(), dict()),
    (dict(lr=0.05, weight_decay=0.1), dict(lr=0.02)),
    (dict(lr=0.1, beta2_decay=-0.5, eps=(1e-20, 1e-2), d=2.0), dict(d=1.5)),
    (dict(maximize=True, eps=(None, 1e-4)), dict(weight_decay=0.05)),
    (dict(lr=torch.tensor(0.03)), dict()),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_trajectory_matches_torch(case, dtype):
    rng = np.random.default_rng(case)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    targets = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    t_kwargs = CASES[case]
    e_kwargs = tuple(
        {k: ember.tensor(v.item()) if isinstance(v, torch.Tensor) else v for k, v in kw.items()}
        for kw in t_kwargs
    )
    t_traj, t_opt = _run(torch, torch.optim.Adafactor, init, targets, t_kwargs, STEPS)
    e_traj, e_opt = _run(ember, eoptim.Adafactor, init, targets, e_kwargs, STEPS)
    rtol = 1e-9 if dtype == np.float64 else 2e-5
    for step, (t_params, e_params) in enumerate(zip(t_traj, e_traj)):
        for t, e in zip(t_params, e_params):
            assert e.dtype == t.dtype
            np.testing.assert_allclose(e, t, rtol=rtol, atol=rtol, err_msg=f"step {step}")
    t_state, e_state = t_opt.state_dict(), e_opt.state_dict()
    for key, t_entry in t_state["state"].items():
        for name, value in t_entry.items():
            np.testing.assert_allclose(e_state["state"][key][name].numpy(), value.numpy(),
                                       rtol=rtol, atol=rtol)  # fmt: skip


def test_state_dict_round_trip_continues_identically():
    rng = np.random.default_rng(7)
    init = [rng.standard_normal(s) for s in SHAPES]
    targets = [rng.standard_normal(s) for s in SHAPES]
    params = [ember.tensor(a.copy(), requires_grad=True) for a in init]
    opt = eoptim.Adafactor(params, lr=0.05)
    for _ in range(3):
        opt.zero_grad()
        _loss(params, ember, targets).backward()
        opt.step()
    clone = [ember.tensor(p.detach().numpy().copy(), requires_grad=True) for p in params]
    opt2 = eoptim.Adafactor(clone, lr=0.05)
    opt2.load_state_dict(opt.state_dict())
    for ps, o in ((params, opt), (clone, opt2)):
        o.zero_grad()
        _loss(ps, ember, targets).backward()
        o.step()
    for a, b in zip(params, clone):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(lr=-1.0), "Learning rate"),
        (dict(beta2_decay=0.5), "beta2_decay"),
        (dict(eps=(-1.0, 1e-3)), "epsilon1"),
        (dict(eps=(None, -1.0)), "epsilon2"),
        (dict(d=0.5), "Clipping threshold"),
        (dict(weight_decay=-0.1), "weight_decay"),
    ],
)
def test_invalid_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        eoptim.Adafactor([ember.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match=match):
        torch.optim.Adafactor([torch.zeros(2, requires_grad=True)], **kwargs)


def test_complex_parameters_are_rejected():
    p = ember.zeros(2, dtype=ember.complex64, requires_grad=True)
    p.grad = ember.ones(2, dtype=ember.complex64)
    with pytest.raises(RuntimeError, match="complex"):
        eoptim.Adafactor([p]).step()
