"""nn.utils.prune against PyTorch: the same masks, parameters, buffers and errors."""

import numpy as np
import pytest
import torch
import torch.nn.utils.prune as tprune

import ember
import ember.nn.utils.prune as eprune


def _pair(shape=(6, 5), seed=0, conv=False):
    """The same Linear (or Conv2d) in both libraries, with distinct weights (no ties)."""
    rng = np.random.default_rng(seed)
    if conv:
        t, e = torch.nn.Conv2d(3, 4, 2), ember.nn.Conv2d(3, 4, 2)
    else:
        t, e = torch.nn.Linear(shape[1], shape[0]), ember.nn.Linear(shape[1], shape[0])
    state = {}
    for k, v in t.state_dict().items():
        vals = rng.permutation(v.numel()).astype(np.float32) + 1  # distinct magnitudes
        state[k] = (vals * rng.choice([-1, 1], v.numel())).reshape(tuple(v.shape)) / 7
    t.load_state_dict({k: torch.tensor(v) for k, v in state.items()})
    e.load_state_dict({k: ember.tensor(v) for k, v in state.items()})
    return t, e


def _same(t, e, name="weight"):
    np.testing.assert_array_equal(
        getattr(e, name + "_mask").numpy(), getattr(t, name + "_mask").numpy()
    )
    np.testing.assert_allclose(getattr(e, name).detach().numpy(), getattr(t, name).detach().numpy())
    assert sorted(n for n, _ in e.named_parameters()) == sorted(n for n, _ in t.named_parameters())
    assert sorted(n for n, _ in e.named_buffers()) == sorted(n for n, _ in t.named_buffers())
    assert sorted(e.state_dict()) == sorted(t.state_dict())


@pytest.mark.parametrize("amount", [0, 3, 0.25, 0.5, 1.0])
def test_l1_unstructured(amount):
    t, e = _pair()
    tprune.l1_unstructured(t, "weight", amount)
    eprune.l1_unstructured(e, "weight", amount)
    _same(t, e)


@pytest.mark.parametrize(
    "n,dim,amount", [(1, 0, 2), (2, 1, 0.4), (float("inf"), -1, 1), (3, 0, 0.5)]
)
def test_ln_structured(n, dim, amount):
    t, e = _pair(conv=True)
    tprune.ln_structured(t, "weight", amount, n=n, dim=dim)
    eprune.ln_structured(e, "weight", amount, n=n, dim=dim)
    _same(t, e)


def test_iterative_pruning_acts_on_what_is_left():
    t, e = _pair(conv=True)
    for lib, mod in ((tprune, t), (eprune, e)):
        lib.l1_unstructured(mod, "weight", 0.3)
        lib.ln_structured(mod, "weight", 1, n=2, dim=0)
        lib.l1_unstructured(mod, "weight", 0.5)
        lib.l1_unstructured(mod, "bias", 2)
    _same(t, e)
    _same(t, e, "bias")
    hook = next(
        h for h in e._forward_pre_hooks.values() if getattr(h, "_tensor_name", "") == "weight"
    )
    assert isinstance(hook, eprune.PruningContainer) and len(hook) == 3


def test_importance_scores_choose_the_mask():
    t, e = _pair()
    scores = np.arange(30, dtype=np.float32).reshape(6, 5)[::-1].copy()
    tprune.l1_unstructured(t, "weight", 7, importance_scores=torch.tensor(scores))
    eprune.l1_unstructured(e, "weight", 7, importance_scores=ember.tensor(scores))
    _same(t, e)


def test_global_unstructured():
    t1, e1 = _pair(seed=1)
    t2, e2 = _pair(shape=(4, 6), seed=2)
    tprune.l1_unstructured(t1, "weight", 3)
    eprune.l1_unstructured(e1, "weight", 3)
    tprune.global_unstructured([(t1, "weight"), (t2, "weight")], tprune.L1Unstructured, amount=0.4)
    eprune.global_unstructured([(e1, "weight"), (e2, "weight")], eprune.L1Unstructured, amount=0.4)
    _same(t1, e1)
    _same(t2, e2)


def test_custom_mask_forward_and_gradient():
    t, e = _pair()
    mask = (np.arange(30).reshape(6, 5) % 3 != 0).astype(np.float32)
    tprune.custom_from_mask(t, "weight", torch.tensor(mask))
    eprune.custom_from_mask(e, "weight", ember.tensor(mask))
    x = np.random.default_rng(3).standard_normal((2, 5)).astype(np.float32)
    t(torch.tensor(x)).sum().backward()
    e(ember.tensor(x)).sum().backward()
    np.testing.assert_allclose(e.weight_orig.grad.numpy(), t.weight_orig.grad.numpy(), rtol=1e-6)
    # the mask is applied again before each forward, after the original changes
    with torch.no_grad():
        t.weight_orig.add_(1.0)
    with ember.no_grad():
        e.weight_orig.add_(1.0)
    np.testing.assert_allclose(
        e(ember.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(), rtol=1e-5
    )


def test_remove_makes_a_parameter_again():
    t, e = _pair()
    tprune.l1_unstructured(t, "weight", 0.5)
    eprune.l1_unstructured(e, "weight", 0.5)
    assert eprune.is_pruned(e) and tprune.is_pruned(t)
    tprune.remove(t, "weight")
    eprune.remove(e, "weight")
    assert isinstance(e.weight, ember.nn.Parameter)
    np.testing.assert_array_equal(e.weight.detach().numpy(), t.weight.detach().numpy())
    assert sorted(e.state_dict()) == sorted(t.state_dict())
    assert not eprune.is_pruned(e)


def test_random_methods_prune_the_right_counts():
    ember.manual_seed(0)
    _, e = _pair(conv=True)
    eprune.random_unstructured(e, "weight", 0.25)
    assert int((e.weight_mask == 0).sum()) == round(0.25 * 48)
    _, e2 = _pair(conv=True)
    eprune.random_structured(e2, "weight", 2, dim=0)
    channel_kept = e2.weight_mask.reshape(4, -1).amax(dim=1)
    assert int(channel_kept.sum()) == 2
    assert set(np.unique(e2.weight_mask.reshape(4, -1).numpy().sum(1))) <= {0.0, 12.0}


@pytest.mark.parametrize(
    "call,error",
    [
        (lambda lib, m: lib.l1_unstructured(m, "weight", -1), ValueError),
        (lambda lib, m: lib.l1_unstructured(m, "weight", 1.5), ValueError),
        (lambda lib, m: lib.l1_unstructured(m, "weight", 31), ValueError),
        (lambda lib, m: lib.l1_unstructured(m, "weight", "half"), TypeError),
        (lambda lib, m: lib.ln_structured(m, "bias", 1, n=1, dim=0), ValueError),
        (lambda lib, m: lib.remove(m, "weight"), ValueError),
        (
            lambda lib, m: lib.global_unstructured([(m, "weight")], lib.LnStructured, amount=1),
            TypeError,
        ),
    ],
)
def test_errors_match(call, error):
    t, e = _pair()
    with pytest.raises(error):
        call(tprune, t)
    with pytest.raises(error):
        call(eprune, e)
