"""Stochastic weight averaging against PyTorch: SWALR rates and averaged weights."""

import numpy as np
import pytest
import torch

import ember
from ember.optim import swa_utils


@pytest.mark.parametrize("strategy,epochs", [("cos", 5), ("linear", 3), ("cos", 0)])
def test_swalr_matches_torch(strategy, epochs):
    def build(lib):
        params = [lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)]
        opt = lib.optim.SGD([{"params": params[:1]}, {"params": params[1:], "lr": 0.5}], lr=0.1)
        sched = lib.optim.swa_utils.SWALR(opt, [0.01, 0.02], epochs, strategy)
        return opt, sched

    ours, ref = build(ember), build(torch)
    for _ in range(8):
        for opt, sched in (ours, ref):
            opt.step()
            sched.step()
        np.testing.assert_allclose(ours[1].get_last_lr(), ref[1].get_last_lr(), rtol=1e-12)


def linear_pair():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((2, 3), dtype=np.float32)
    b = rng.standard_normal(2, dtype=np.float32)
    ours, ref = ember.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    for lib, m in ((ember, ours), (torch, ref)):
        m.load_state_dict({"weight": lib.tensor(w), "bias": lib.tensor(b)})
    return ours, ref


@pytest.mark.parametrize("kind", ["swa", "ema", "ema-multi"])
def test_averaged_model_matches_torch(kind):
    ours, ref = linear_pair()
    kwargs = {
        "swa": lambda m: {},
        "ema": lambda m: {"avg_fn": m.get_ema_avg_fn(0.9)},
        "ema-multi": lambda m: {"multi_avg_fn": m.get_ema_multi_avg_fn(0.8)},
    }[kind]
    avg_ours = swa_utils.AveragedModel(ours, **kwargs(swa_utils))
    avg_ref = torch.optim.swa_utils.AveragedModel(ref, **kwargs(torch.optim.swa_utils))
    rng = np.random.default_rng(1)
    for _ in range(4):
        delta = rng.standard_normal((2, 3), dtype=np.float32)
        for lib, m, avg in ((ember, ours, avg_ours), (torch, ref, avg_ref)):
            with lib.no_grad():
                m.weight.add_(lib.tensor(delta))
            avg.update_parameters(m)
    assert int(avg_ours.n_averaged) == int(avg_ref.n_averaged) == 4
    for a, b in zip(avg_ours.parameters(), avg_ref.parameters()):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError):
        swa_utils.get_ema_avg_fn(1.5)
    opt = ember.optim.SGD([ember.zeros(2, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError):
        swa_utils.SWALR(opt, 0.01, anneal_strategy="step")


@pytest.mark.parametrize("use_buffers", [False, True])
def test_averaged_model_buffers_match_torch(use_buffers):
    """Buffers are copied from the model, or averaged with the parameters."""
    rng = np.random.default_rng(2)
    models = {
        lib: lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.BatchNorm1d(2)) for lib in (ember, torch)
    }
    state = {k: v.detach().numpy() for k, v in models[torch].state_dict().items()}
    models[ember].load_state_dict({k: ember.tensor(v) for k, v in state.items()})
    avgs = {
        lib: lib.optim.swa_utils.AveragedModel(m, use_buffers=use_buffers)
        for lib, m in models.items()
    }
    for _ in range(3):
        x = rng.standard_normal((5, 3), dtype=np.float32)
        for lib, m in models.items():
            m(lib.tensor(x))  # training mode: updates the running statistics
            avgs[lib].update_parameters(m)
    ours, ref = avgs[ember].state_dict(), avgs[torch].state_dict()
    assert sorted(ours) == sorted(ref)
    for key, value in ref.items():
        np.testing.assert_allclose(ours[key].numpy(), value.numpy(), rtol=1e-6, err_msg=key)
