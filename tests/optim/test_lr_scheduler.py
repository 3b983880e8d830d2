"""Learning-rate schedulers against PyTorch: learning rates and momenta at every step."""

import math
import warnings

import numpy as np
import pytest
import torch

import ember
import ember.optim as eoptim

STEPS = 20
METRICS = [1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.6, 0.7, 0.8, 0.9] * 2


def decay(epoch):
    return 0.9**epoch


def shrink(epoch):
    return 0.95


def seq(m, opt):
    return m.SequentialLR(
        opt,
        [m.LinearLR(opt, 0.1, total_iters=4), m.ExponentialLR(opt, 0.9), m.StepLR(opt, 3)],
        milestones=[5, 12],
    )


def chained(m, opt):
    return m.ChainedScheduler([m.ConstantLR(opt, 0.5, total_iters=4), m.ExponentialLR(opt, 0.9)])


# id, optimizer, scheduler factory (module, optimizer)
CASES = [
    ("lambda", "SGD", lambda m, o: m.LambdaLR(o, decay)),
    ("lambda-list", "SGD", lambda m, o: m.LambdaLR(o, [decay, lambda e: 1 / (e + 1)])),
    ("multiplicative", "SGD", lambda m, o: m.MultiplicativeLR(o, shrink)),
    ("step", "SGD", lambda m, o: m.StepLR(o, step_size=3, gamma=0.5)),
    ("multistep", "SGD", lambda m, o: m.MultiStepLR(o, [2, 5, 5, 11], gamma=0.3)),
    ("constant", "SGD", lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=6)),
    ("linear", "SGD", lambda m, o: m.LinearLR(o, 0.2, 0.9, total_iters=7)),
    ("exponential", "SGD", lambda m, o: m.ExponentialLR(o, 0.85)),
    ("polynomial", "SGD", lambda m, o: m.PolynomialLR(o, total_iters=12, power=2.0)),
    ("cosine", "SGD", lambda m, o: m.CosineAnnealingLR(o, T_max=6, eta_min=0.001)),
    ("warm-restarts", "SGD", lambda m, o: m.CosineAnnealingWarmRestarts(o, 3, 2, 0.002)),
    ("cyclic", "SGD", lambda m, o: m.CyclicLR(o, 0.01, [0.1, 0.2], step_size_up=3)),
    (
        "cyclic2",
        "SGD",
        lambda m, o: m.CyclicLR(o, 0.01, 0.1, 2, 4, mode="triangular2", base_momentum=0.7),
    ),
    (
        "cyclic-exp",
        "Adam",
        lambda m, o: m.CyclicLR(o, [0.01, 0.02], 0.1, 4, mode="exp_range", gamma=0.9),
    ),
    ("onecycle", "SGD", lambda m, o: m.OneCycleLR(o, [0.5, 1.0], total_steps=STEPS + 1)),
    (
        "onecycle-linear",
        "Adam",
        lambda m, o: m.OneCycleLR(
            o, 0.5, epochs=3, steps_per_epoch=7, anneal_strategy="linear", three_phase=True
        ),
    ),
    ("sequential", "SGD", seq),
    ("chained", "SGD", chained),
    ("plateau", "SGD", lambda m, o: m.ReduceLROnPlateau(o, patience=2, cooldown=1, min_lr=0.004)),
    (
        "plateau-max-abs",
        "SGD",
        lambda m, o: m.ReduceLROnPlateau(
            o, "max", 0.5, patience=1, threshold=0.05, threshold_mode="abs", min_lr=[0, 0.01]
        ),
    ),
]


def make(lib, opt_name, factory):
    params = [lib.zeros(3, requires_grad=True), lib.zeros(2, requires_grad=True)]
    groups = [{"params": params[:1]}, {"params": params[1:], "lr": 0.05}]
    kwargs = dict(lr=0.1, momentum=0.9) if opt_name == "SGD" else dict(lr=0.1)
    opt = getattr(lib.optim, opt_name)(groups, **kwargs)
    return opt, factory(lib.optim.lr_scheduler, opt)


def advance(opt, sched, epoch):
    opt.step()
    if "ReduceLROnPlateau" in type(sched).__name__:
        sched.step(METRICS[epoch])
    else:
        sched.step()


def observed(opt, sched):
    out = [float(lr) for lr in sched.get_last_lr()]
    for g in opt.param_groups:
        out.append(float(g["lr"]))
        out.append(float(g["momentum"] if "momentum" in g else g["betas"][0]))
    return out


@pytest.mark.parametrize("opt_name,factory", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_learning_rates_match_torch(opt_name, factory):
    ours, ref = make(ember, opt_name, factory), make(torch, opt_name, factory)
    np.testing.assert_allclose(observed(*ours), observed(*ref), rtol=1e-12)
    for epoch in range(STEPS):
        advance(*ours, epoch)
        advance(*ref, epoch)
        np.testing.assert_allclose(
            observed(*ours), observed(*ref), rtol=1e-12, atol=1e-15, err_msg=f"epoch {epoch}"
        )
    if hasattr(ref[1], "last_epoch"):
        assert ours[1].last_epoch == ref[1].last_epoch


@pytest.mark.parametrize("opt_name,factory", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_state_dict_resume_matches_uninterrupted(opt_name, factory):
    ref = make(torch, opt_name, factory)
    ours = make(ember, opt_name, factory)
    for epoch in range(10):
        advance(*ours, epoch)
        advance(*ref, epoch)
    opt_state, sched_state = ours[0].state_dict(), ours[1].state_dict()
    resumed = make(ember, opt_name, factory)
    resumed[0].load_state_dict(opt_state)
    resumed[1].load_state_dict(sched_state)
    for epoch in range(10, STEPS):
        advance(*resumed, epoch)
        advance(*ref, epoch)
        np.testing.assert_allclose(observed(*resumed), observed(*ref), rtol=1e-12, atol=1e-15)


def test_warns_when_scheduler_steps_first():
    opt, sched = make(ember, "SGD", lambda m, o: m.StepLR(o, 2))
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    opt, sched = make(ember, "SGD", lambda m, o: m.StepLR(o, 2))
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()


def test_resuming_needs_initial_lr():
    opt, _ = make(ember, "SGD", lambda m, o: None)
    with pytest.raises(KeyError, match="initial_lr"):
        eoptim.lr_scheduler.StepLR(opt, 2, last_epoch=4)


def test_resume_from_last_epoch_matches_torch():
    def build(lib):
        opt, _ = make(lib, "SGD", lambda m, o: None)
        for g in opt.param_groups:
            g["initial_lr"] = g["lr"]
        return opt, lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=8, last_epoch=3)

    ours, ref = build(ember), build(torch)
    for epoch in range(6):
        advance(*ours, epoch)
        advance(*ref, epoch)
        np.testing.assert_allclose(observed(*ours), observed(*ref), rtol=1e-12)


def test_bad_arguments_raise_value_error():
    opt, _ = make(ember, "SGD", lambda m, o: None)
    m = eoptim.lr_scheduler
    for build in (
        lambda: m.ConstantLR(opt, factor=1.5),
        lambda: m.LinearLR(opt, start_factor=0),
        lambda: m.CosineAnnealingWarmRestarts(opt, T_0=0),
        lambda: m.OneCycleLR(opt, 0.1),
        lambda: m.LambdaLR(opt, [decay]),
        lambda: m.ReduceLROnPlateau(opt, factor=1.0),
    ):
        with pytest.raises(ValueError):
            build()
    assert math.isfinite(opt.param_groups[0]["lr"])


def test_tensor_learning_rate_is_updated_in_place_like_torch():
    def run(lib):
        lr = lib.tensor(0.1)
        opt = lib.optim.Adam([lib.zeros(2, requires_grad=True)], lr=lr)
        sched = lib.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        for _ in range(3):
            opt.step()
            sched.step()
        assert opt.param_groups[0]["lr"] is lr
        return lr.item()

    assert run(ember) == run(torch)
