"""Optimizers against PyTorch: same parameters, same gradients, same trajectory."""

import numpy as np
import pytest
import torch

import ember
import ember.optim as eoptim

SHAPES = [(4, 3), (5,), (2, 2), (3, 1)]
STEPS = 20

# name, keyword arguments for the whole optimizer, overrides for the second group
CASES = [
    ("SGD", dict(lr=0.1), dict(lr=0.05)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01), dict(momentum=0.5)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, maximize=True), dict(lr=0.01)),
    ("Adam", dict(lr=0.01), dict(lr=0.02, betas=(0.8, 0.99))),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True, maximize=True), dict(eps=1e-6)),
    ("AdamW", dict(lr=0.01), dict(weight_decay=0.5)),
    ("AdamW", dict(lr=0.01, amsgrad=True), dict(lr=0.03)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1), dict(lr=0.2)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, maximize=True), dict(eps=1e-5)),
    ("RMSprop", dict(lr=0.01), dict(alpha=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.9, weight_decay=0.1), dict(lr=0.02)),
    ("Adadelta", dict(lr=1.0), dict(rho=0.8)),
    ("Adadelta", dict(lr=0.5, weight_decay=0.1, maximize=True), dict(eps=1e-4)),
    ("Adamax", dict(lr=0.01), dict(betas=(0.8, 0.9))),
    ("Adamax", dict(lr=0.01, weight_decay=0.1, maximize=True), dict(lr=0.02)),
    ("NAdam", dict(lr=0.01), dict(momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), dict(lr=0.02)),
    ("RAdam", dict(lr=0.01), dict(betas=(0.8, 0.9))),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), dict(lr=0.02)),
    ("Rprop", dict(lr=0.01), dict(etas=(0.3, 1.5), step_sizes=(1e-4, 0.05))),
    ("Rprop", dict(lr=0.01, maximize=True), dict(lr=0.02)),
    ("ASGD", dict(lr=0.01, t0=5), dict(lambd=0.01, alpha=0.5)),
    ("ASGD", dict(lr=0.01, weight_decay=0.1, maximize=True), dict(lr=0.02)),
]
IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(CASES)]


def make_data(dtype, seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(STEPS)]
    return init, grads


def has_grad(step, i):
    """Parameter 2 never has a gradient; parameter 1 misses every third step."""
    return i != 2 and not (i == 1 and step % 3 == 0)


def groups(params, overrides):
    return [{"params": params[:2]}, {"params": params[2:], **overrides}]


class Run:
    """One optimizer over the shared parameters, in ember or torch."""

    def __init__(self, lib, name, kwargs, overrides, init):
        self.lib = lib
        if lib is torch:
            self.params = [torch.tensor(a.copy(), requires_grad=True) for a in init]
            self.opt = getattr(torch.optim, name)(groups(self.params, overrides), **kwargs)
        else:
            self.params = [ember.tensor(a.copy(), requires_grad=True) for a in init]
            self.opt = getattr(eoptim, name)(groups(self.params, overrides), **kwargs)

    def step(self, step, grads):
        for i, (p, g) in enumerate(zip(self.params, grads)):
            p.grad = self.lib.tensor(g.copy()) if has_grad(step, i) else None
        self.opt.step()

    def values(self):
        return [p.detach().numpy().copy() for p in self.params]


def tol(dtype):
    return dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs,overrides", CASES, ids=IDS)
def test_trajectory_matches_torch(name, kwargs, overrides, dtype):
    init, grads = make_data(dtype)
    ours = Run(ember, name, kwargs, overrides, init)
    ref = Run(torch, name, kwargs, overrides, init)
    for step in range(STEPS):
        ours.step(step, grads[step])
        ref.step(step, grads[step])
        for a, b in zip(ours.values(), ref.values()):
            assert a.dtype == b.dtype
            np.testing.assert_allclose(a, b, **tol(dtype), err_msg=f"{name} step {step}")


def flat_state(state_dict):
    """{(param index, key): array} for every state tensor or number."""
    out = {}
    for i, st in state_dict["state"].items():
        for k, v in st.items():
            out[(int(i), k)] = np.asarray(v.detach().numpy() if hasattr(v, "detach") else v)
    return out


@pytest.mark.parametrize("name,kwargs,overrides", CASES[1::2], ids=IDS[1::2])
def test_state_dict_layout_and_round_trip(name, kwargs, overrides):
    init, grads = make_data(np.float64, seed=1)
    ours = Run(ember, name, kwargs, overrides, init)
    ref = Run(torch, name, kwargs, overrides, init)
    for step in range(10):
        ours.step(step, grads[step])
        ref.step(step, grads[step])
    sd, tsd = ours.opt.state_dict(), ref.opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2, 3]]
    ours_state, ref_state = flat_state(sd), flat_state(tsd)
    assert sorted(ours_state) == sorted(ref_state)
    for key, value in ref_state.items():
        np.testing.assert_allclose(ours_state[key], value, rtol=1e-11, atol=1e-12, err_msg=key)
    for i, k in ours_state:
        assert isinstance(sd["state"][i][k], ember.Tensor), (i, k)
    hyper = {k: v for k, v in tsd["param_groups"][1].items() if k not in ("params",)}
    assert {k: sd["param_groups"][1][k] for k in hyper} == hyper

    resumed = Run(ember, name, kwargs, overrides, ours.values())
    resumed.opt.load_state_dict(sd)
    for step in range(10, STEPS):
        ours.step(step, grads[step])
        resumed.step(step, grads[step])
        ref.step(step, grads[step])
        for a, b, c in zip(ours.values(), resumed.values(), ref.values()):
            if name in ("NAdam", "ASGD"):
                # loading casts their float32 scalars (mu_product, eta, mu) to the
                # parameter's dtype, as PyTorch does, which changes the last digits
                np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-8)
            else:
                np.testing.assert_array_equal(a, b)
            np.testing.assert_allclose(a, c, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("name", ["Adam", "NAdam", "RAdam", "Adamax"])
def test_tensor_hyperparameters(name):
    init, grads = make_data(np.float32)
    ours = Run(
        ember,
        name,
        dict(lr=ember.tensor(0.01), betas=(ember.tensor(0.8), ember.tensor(0.9))),
        {},
        init,
    )
    ref = Run(
        torch,
        name,
        dict(lr=torch.tensor(0.01), betas=(torch.tensor(0.8), torch.tensor(0.9))),
        {},
        init,
    )
    for step in range(5):
        ours.step(step, grads[step])
        ref.step(step, grads[step])
    for a, b in zip(ours.values(), ref.values()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
