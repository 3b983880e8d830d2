"""Activation checkpointing against the un-checkpointed model and against torch.utils.checkpoint."""

import gc
import warnings
import weakref

import numpy as np
import pytest
import torch
import torch.utils.checkpoint as torch_cp

import ember
from ember.utils.checkpoint import CheckpointError, checkpoint, checkpoint_sequential

VARIANTS = [True, False]


def _mlps(seed=0):
    """The same float64 MLP in ember and torch."""
    rng = np.random.default_rng(seed)
    models = []
    for lib in (ember, torch):
        nn = lib.nn
        models.append(
            nn.Sequential(
                nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 6), nn.Sigmoid(), nn.Linear(6, 2)
            ).double()
        )
    state = {k: rng.standard_normal(tuple(v.shape)) for k, v in models[1].state_dict().items()}
    models[0].load_state_dict({k: ember.from_numpy(v.copy()) for k, v in state.items()})
    models[1].load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
    return models


def _grads(model, x):
    return [p.grad.numpy() for p in model.parameters()] + [x.grad.numpy()]


@pytest.mark.parametrize("use_reentrant", VARIANTS)
def test_gradients_match_plain_model_and_torch(use_reentrant):
    ours, theirs = _mlps()
    data = np.random.default_rng(1).standard_normal((5, 4))
    x = ember.tensor(data, requires_grad=True)
    tx = torch.tensor(data, requires_grad=True)
    y = checkpoint(ours, x, use_reentrant=use_reentrant)
    ty = torch_cp.checkpoint(theirs, tx, use_reentrant=use_reentrant)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    (y**2).sum().backward()
    (ty**2).sum().backward()
    for a, b in zip(_grads(ours, x), _grads(theirs, tx)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    got = _grads(ours, x)
    for p in ours.parameters():
        p.grad = None
    x.grad = None
    (ours(x) ** 2).sum().backward()
    for a, b in zip(got, _grads(ours, x)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def _dropout_grads(use_reentrant, preserve, checkpointed):
    ember.manual_seed(0)
    nn = ember.nn
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3))
    x = ember.randn(10, 8, requires_grad=True)
    ember.manual_seed(7)
    if checkpointed:
        y = checkpoint(model, x, use_reentrant=use_reentrant, preserve_rng_state=preserve)
    else:
        y = model(x)
    y.sum().backward()
    after = ember.rand(3).numpy()  # the stream continues where the forward left it
    return _grads(model, x), y.detach().numpy(), after


@pytest.mark.parametrize("use_reentrant", VARIANTS)
def test_dropout_masks_are_replayed(use_reentrant):
    plain_grads, plain_out, plain_after = _dropout_grads(use_reentrant, True, False)
    grads, out, after = _dropout_grads(use_reentrant, True, True)
    np.testing.assert_array_equal(out, plain_out)
    np.testing.assert_array_equal(after, plain_after)
    for a, b in zip(grads, plain_grads):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    unreplayed, _, _ = _dropout_grads(use_reentrant, False, True)
    assert not all(np.allclose(a, b) for a, b in zip(unreplayed, plain_grads))


@pytest.mark.parametrize("use_reentrant", VARIANTS)
def test_intermediate_activations_are_not_kept(use_reentrant):
    alive = []

    def block(x, w):
        h = (x @ w).tanh()
        alive.append(weakref.ref(h))
        h2 = h.sin() * h
        alive.append(weakref.ref(h2))
        return h2.sin()  # sin saves its input (exp would save only its output)

    x = ember.randn(4, 5, requires_grad=True)
    w = ember.randn(5, 5, requires_grad=True)
    plain = block(x, w)
    gc.collect()
    assert sum(r() is not None for r in alive) == 2  # the graph keeps them without checkpoint
    alive.clear()
    y = checkpoint(block, x, w, use_reentrant=use_reentrant)
    gc.collect()
    assert sum(r() is not None for r in alive) == 0
    y.sum().backward()
    gc.collect()
    assert sum(r() is not None for r in alive) == 0  # nor the recomputed ones after backward
    gx, gw = ember.autograd.grad(plain.sum(), [x, w])
    np.testing.assert_allclose(x.grad.numpy(), gx.numpy(), rtol=1e-6)
    np.testing.assert_allclose(w.grad.numpy(), gw.numpy(), rtol=1e-6)


def test_non_reentrant_autograd_grad_kwargs_and_nested_outputs():
    ours, theirs = _mlps(3)
    data = np.random.default_rng(4).standard_normal((3, 4))

    def block(lib, model):
        def run(x, scale=1.0, extra=None):
            h = model(x) * scale
            return {"out": h, "pair": (h.sum(), extra), "index": lib.tensor([1, 2])}

        return run

    results = []
    for lib, model in ((ember, ours), (torch, theirs)):
        x = lib.tensor(data, requires_grad=True)
        cp = ember.utils.checkpoint.checkpoint if lib is ember else torch_cp.checkpoint
        out = cp(block(lib, model), x, use_reentrant=False, scale=lib.tensor(2.0), extra="e")
        assert out["pair"][1] == "e" and not out["index"].requires_grad
        loss = (out["out"] ** 2).sum() + out["pair"][0]
        params = list(model.parameters())
        results.append([g.numpy() for g in lib.autograd.grad(loss, [x] + params)])
        assert all(p.grad is None for p in params)  # autograd.grad does not touch .grad
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_parameters_get_gradients_when_no_input_requires_grad():
    ours, theirs = _mlps(5)
    data = np.random.default_rng(6).standard_normal((3, 4))
    ember_out = checkpoint(ours, ember.tensor(data), use_reentrant=False)
    torch_out = torch_cp.checkpoint(theirs, torch.tensor(data), use_reentrant=False)
    ember_out.sum().backward()
    torch_out.sum().backward()
    for a, b in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10)


def test_reentrant_without_input_grad_warns_and_gives_no_graph():
    ours, theirs = _mlps()
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        y = checkpoint(ours, ember.ones(2, 4, dtype=ember.float64), use_reentrant=True)
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        ty = torch_cp.checkpoint(theirs, torch.ones(2, 4, dtype=torch.float64), use_reentrant=True)
    assert y.requires_grad == ty.requires_grad == False  # noqa: E712


@pytest.mark.parametrize("use_reentrant", VARIANTS)
def test_checkpoint_sequential_matches_torch(use_reentrant):
    ours, theirs = _mlps(8)
    data = np.random.default_rng(9).standard_normal((4, 4))
    x = ember.tensor(data, requires_grad=True)
    tx = torch.tensor(data, requires_grad=True)
    y = checkpoint_sequential(ours, 2, x, use_reentrant=use_reentrant)
    ty = torch_cp.checkpoint_sequential(theirs, 2, tx, use_reentrant=use_reentrant)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    y.sum().backward()
    ty.sum().backward()
    for a, b in zip(_grads(ours, x), _grads(theirs, tx)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_double_backward_non_reentrant_matches_torch():
    ours, theirs = _mlps(10)
    data = np.random.default_rng(11).standard_normal((3, 4))
    results = []
    for lib, model, cp in ((ember, ours, checkpoint), (torch, theirs, torch_cp.checkpoint)):
        x = lib.tensor(data, requires_grad=True)
        y = cp(model, x, use_reentrant=False)
        (gx,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        penalty = (gx**2).sum()
        found = lib.autograd.grad(penalty, [x] + list(model.parameters()), allow_unused=True)
        results.append([None if g is None else g.numpy() for g in found])
    assert [a is None for a in results[0]] == [b is None for b in results[1]]
    assert results[0][-1] is None  # the last bias does not change the input gradient
    for a, b in zip(*results):
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_use_reentrant_must_be_passed_explicitly_or_warns():
    x = ember.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="use_reentrant parameter should be passed explicitly"):
        y = checkpoint(ember.sin, x)
    assert y.grad_fn is not None
    with pytest.warns(UserWarning, match="use_reentrant"):
        checkpoint_sequential([ember.sin, ember.cos], 1, x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        checkpoint(ember.sin, x, use_reentrant=False)


def test_argument_errors_match_torch():
    x = ember.ones(2, requires_grad=True)
    tx = torch.ones(2, requires_grad=True)
    for cp, arg in ((checkpoint, x), (torch_cp.checkpoint, tx)):
        with pytest.raises(ValueError, match="Unexpected keyword arguments: extra"):
            cp(lambda a, extra: a, arg, use_reentrant=True, extra=1)
        with pytest.raises(ValueError, match="context_fn.*use_reentrant=False"):
            cp(lambda a: a, arg, use_reentrant=True, debug=True)


def test_recomputation_with_different_shapes_is_an_error():
    calls = []

    def changing(x):
        calls.append(1)
        return x[: len(calls)] * 2

    x = ember.ones(3, requires_grad=True)
    y = checkpoint(changing, x, use_reentrant=False)
    with pytest.raises(CheckpointError, match="recomputed forward"):
        y.sum().backward()
    assert issubclass(CheckpointError, RuntimeError)


def test_context_fn_runs_around_forward_and_recompute():
    events = []

    class Note:
        def __init__(self, name):
            self.name = name

        def __enter__(self):
            events.append(self.name)

        def __exit__(self, *exc):
            return False

    x = ember.ones(2, requires_grad=True)
    y = checkpoint(ember.sin, x, use_reentrant=False, context_fn=lambda: (Note("fwd"), Note("re")))
    y.sum().backward()
    assert events == ["fwd", "re"]
    np.testing.assert_allclose(x.grad.numpy(), np.cos(np.ones(2)), rtol=1e-6)


@pytest.mark.parametrize("use_reentrant", VARIANTS)
def test_under_no_grad_nothing_is_recorded(use_reentrant):
    x = ember.ones(2, requires_grad=True)
    with ember.no_grad():
        y = checkpoint(ember.sin, x, use_reentrant=use_reentrant)
    assert not y.requires_grad


def test_non_reentrant_closure_tensors_get_gradients():
    base = ember.tensor([0.5, -1.0, 2.0], requires_grad=True)
    scale = base * 3  # not a leaf, read by the block from outside
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = checkpoint(lambda a: (a * scale).sin(), x, use_reentrant=False)
    y.sum().backward()
    tb = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    tx = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    tscale = tb * 3
    torch_cp.checkpoint(lambda a: (a * tscale).sin(), tx, use_reentrant=False).sum().backward()
    np.testing.assert_allclose(base.grad.numpy(), tb.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)


def test_parameter_behind_an_input_single_backward_and_refused_double_backward():
    grads = []
    for lib, cp in ((ember, checkpoint), (torch, torch_cp.checkpoint)):
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        cp(lambda a, w=w: (a * w).sin().sum(), w * 2, use_reentrant=False).backward()
        grads.append(w.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    y = checkpoint(lambda a: (a * w).sum(), w * 2, use_reentrant=False)
    with pytest.raises(NotImplementedError, match="create_graph=True.*pass it as an input"):
        ember.autograd.grad(y, w, create_graph=True)


def test_device_states_of_host_tensors_are_empty_as_in_torch():
    import ember.utils.checkpoint as ember_cp

    for lib, module in ((torch, torch_cp), (ember, ember_cp)):
        devices, states = module.get_device_states(lib.ones(2), 3, lib.zeros(1, requires_grad=True))
        assert (devices, states) == ([], []), lib.__name__
        module.set_device_states(devices, states)
    with pytest.raises(ValueError, match="no accelerator random states"):
        ember_cp.set_device_states([0], [ember.get_rng_state()])
