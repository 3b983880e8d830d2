"""The multi-tensor (foreach) and single-tensor paths against PyTorch, and against each other."""

import numpy as np
import pytest
import torch

import ember
import ember.optim as eoptim

SHAPES = [(3, 4), (6,), (2, 1, 2)]
STEPS = 6

VARIANTS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.05)),
    ("SGD", dict(lr=0.1, momentum=0.8, dampening=0.3, maximize=True)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.02, weight_decay=0.1)),
    ("Adam", dict(lr=0.02, amsgrad=True, maximize=True)),
    ("Adam", dict(lr=0.02, weight_decay=0.1, decoupled_weight_decay=True, amsgrad=True)),
    ("AdamW", dict(lr=0.02, weight_decay=0.3, amsgrad=True)),
    ("AdamW", dict(lr=0.02, maximize=True)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, lr_decay=0.05)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5, maximize=True)),
    ("Adadelta", dict(lr=0.7, weight_decay=0.1, maximize=True)),
    ("Adamax", dict(lr=0.02, weight_decay=0.1)),
    ("Adamax", dict(lr=0.02, maximize=True)),
    ("NAdam", dict(lr=0.02, weight_decay=0.1)),
    ("NAdam", dict(lr=0.02, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.02, weight_decay=0.1)),
    ("RAdam", dict(lr=0.02, betas=(0.9, 0.6), decoupled_weight_decay=True, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, centered=True, maximize=True)),
    ("Rprop", dict(lr=0.05, maximize=True)),
    ("ASGD", dict(lr=0.05, t0=2, weight_decay=0.1)),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(VARIANTS)]


def data(dtype, seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(STEPS)]
    return init, grads


def trajectory(lib, name, kwargs, init, grads):
    params = [lib.tensor(a.copy(), requires_grad=True) for a in init]
    opt = getattr(lib.optim, name)(params, **kwargs)
    out = []
    for step, step_grads in enumerate(grads):
        for i, (p, g) in enumerate(zip(params, step_grads)):
            # the last parameter skips every other step, so step counts differ within a list
            skip = i == len(params) - 1 and step % 2 == 1
            p.grad = None if skip else lib.tensor(g.copy())
        opt.step()
        out.append([p.detach().numpy().copy() for p in params])
    return out


@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,kwargs", VARIANTS, ids=IDS)
def test_matches_torch(name, kwargs, dtype, foreach):
    init, grads = data(dtype)
    ours = trajectory(ember, name, dict(kwargs, foreach=foreach), init, grads)
    # PyTorch's two ASGD paths differ from each other by ~1e-8 in float64 (its multi-tensor
    # path rounds the float32 step size differently); ember's paths both follow the single one
    ref_foreach = foreach and name != "ASGD"
    ref = trajectory(torch, name, dict(kwargs, foreach=ref_foreach), init, grads)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-11, atol=1e-12)
    for step, (a, b) in enumerate(zip(ours, ref)):
        for x, y in zip(a, b):
            assert x.dtype == y.dtype
            np.testing.assert_allclose(x, y, **tol, err_msg=f"{name} step {step}")


@pytest.mark.parametrize("name,kwargs", VARIANTS, ids=IDS)
def test_foreach_and_single_tensor_paths_are_identical(name, kwargs):
    init, grads = data(np.float32, seed=1)
    multi = trajectory(ember, name, dict(kwargs, foreach=True), init, grads)
    single = trajectory(ember, name, dict(kwargs, foreach=False), init, grads)
    for a, b in zip(multi, single):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_lbfgs_and_default_foreach_leave_grads_untouched():
    """Maximizing negates a copy: the parameters' .grad tensors are never written."""
    p = ember.tensor([1.0, -2.0], requires_grad=True)
    p.grad = ember.tensor([0.5, 0.25])
    eoptim.Adam([p], lr=0.1, maximize=True, foreach=True).step()
    np.testing.assert_array_equal(p.grad.numpy(), [0.5, 0.25])


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad"])
def test_fused_runs_as_in_torch(name):
    init, grads = data(np.float32, seed=2)
    kwargs = dict(lr=0.05, fused=True)
    ours = trajectory(ember, name, kwargs, init, grads)
    ref = trajectory(torch, name, kwargs, init, grads)
    for a, b in zip(ours, ref):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "Adagrad"])
@pytest.mark.parametrize(
    "flags,message",
    [
        (dict(fused=True, foreach=True), "`fused` and `foreach` cannot be `True` together."),
        (dict(fused=True, differentiable=True), "`fused` does not support `differentiable`"),
    ],
)
def test_fused_conflicts_raise_like_torch(name, flags, message):
    for lib in (ember, torch):
        p = lib.zeros(2, requires_grad=True)
        with pytest.raises(RuntimeError, match=message):
            getattr(lib.optim, name)([p], lr=0.1, **flags)


@pytest.mark.parametrize("name", ["Adamax", "NAdam", "RAdam", "RMSprop", "Rprop", "ASGD"])
def test_fused_is_not_accepted_where_torch_has_none(name):
    for lib in (ember, torch):
        with pytest.raises(TypeError):
            getattr(lib.optim, name)([lib.zeros(2, requires_grad=True)], fused=True)


@pytest.mark.parametrize("name", ["Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop", "ASGD"])
def test_capturable_on_cpu_raises_at_step_like_torch(name):
    for lib in (ember, torch):
        p = lib.zeros(2, requires_grad=True)
        p.grad = lib.ones(2)
        opt = getattr(lib.optim, name)([p], capturable=True)
        with pytest.raises(AssertionError, match="capturable=True"):
            opt.step()


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=0.1)),
        ("Adam", dict(lr=0.1, weight_decay=0.1)),
        ("RMSprop", dict(lr=0.1, momentum=0.5)),
    ],
)
def test_differentiable_step_gives_torch_gradients(name, kwargs):
    """With differentiable=True the update is recorded: the loss after two steps can be
    differentiated with respect to the initial weights and the gradients fed in."""
    rng = np.random.default_rng(3)
    w0 = rng.standard_normal(4)
    g0 = rng.standard_normal(4)

    def run(lib):
        w = lib.tensor(w0.copy(), requires_grad=True)
        g = lib.tensor(g0.copy(), requires_grad=True)
        p = w.clone()
        opt = getattr(lib.optim, name)([p], differentiable=True, **kwargs)
        for k in range(2):
            p.grad = g * (k + 1.5)
            opt.step()
        (p * p).sum().backward()
        return p.detach().numpy(), w.grad.numpy(), g.grad.numpy()

    # in this mode PyTorch's Adam computes its bias corrections from the float32 step tensor
    # (1 - 0.999**step carries a relative error ~1e-5); ember uses the step as a Python float
    tol = dict(rtol=1e-4, atol=1e-6) if name == "Adam" else dict(rtol=1e-10, atol=1e-12)
    for a, b in zip(run(ember), run(torch)):
        np.testing.assert_allclose(a, b, **tol)


def test_differentiable_with_leaf_parameters_raises_like_torch():
    for lib in (ember, torch):
        p = lib.zeros(2, requires_grad=True)
        p.grad = lib.ones(2)
        with pytest.raises(RuntimeError, match="leaf"):
            lib.optim.SGD([p], lr=0.1, differentiable=True).step()


def test_foreach_lists_must_match():
    for lib in (ember, torch):
        a = [lib.zeros(2), lib.zeros(2)]
        with pytest.raises(RuntimeError, match="same number"):
            lib._foreach_add_(a, [lib.ones(2)])
        with pytest.raises(RuntimeError, match="same number"):
            lib._foreach_addcdiv_(a, a, [lib.ones(2)] * 2, [1.0])


def test_zero_grad_keeping_tensors_writes_zeros_in_place():
    p = ember.tensor([1.0, 2.0], requires_grad=True)
    p.grad = ember.tensor([3.0, 4.0])
    grad = p.grad
    eoptim.SGD([p], lr=0.1).zero_grad(set_to_none=False)
    assert p.grad is grad
    np.testing.assert_array_equal(grad.numpy(), [0.0, 0.0])


@pytest.mark.parametrize("foreach", [None, True, False])
def test_parameters_written_between_steps_and_mixed_sizes_match_torch(foreach):
    """A write to a parameter between steps counts, and a group that the multi-tensor rule
    takes in several runs (the large tensor alone, the small ones together) matches PyTorch."""
    rng = np.random.default_rng(4)
    shapes = [(70_000,), (3, 5), (7,), (2, 3)]
    init = [rng.standard_normal(s) for s in shapes]
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(4)]

    def run(lib):
        params = [lib.tensor(a.copy(), requires_grad=True) for a in init]
        opt = lib.optim.Adam(params, lr=0.05, weight_decay=0.1, foreach=foreach)
        for step_grads in grads:
            for p, g in zip(params, step_grads):
                p.grad = lib.tensor(g.copy())
            opt.step()
            with lib.no_grad():
                params[1].mul_(0.5)
        return [p.detach().numpy() for p in params], opt.state_dict()

    (ours, sd), (ref, tsd) = run(ember), run(torch)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)
    for i, state in tsd["state"].items():
        for key, value in state.items():
            np.testing.assert_allclose(sd["state"][i][key].numpy(), value.numpy(), rtol=1e-11)
