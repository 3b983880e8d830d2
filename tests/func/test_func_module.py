"""functional_call and stack_module_state against torch.func."""

import numpy as np
import pytest
import torch
import torch.func as tf

import ember
import ember.func as ef

RNG = np.random.default_rng(0)


def _pair_models(make, seed=0):
    rng = np.random.default_rng(seed)
    ours, theirs = make(ember).double(), make(torch).double()
    state = {k: rng.standard_normal(tuple(v.shape)) for k, v in theirs.state_dict().items()}
    state = {k: v if v.ndim else np.asarray(0.0) for k, v in state.items()}
    ours.load_state_dict({k: ember.tensor(v) for k, v in state.items()}, strict=False)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()}, strict=False)
    return ours, theirs


def _mlp(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def test_functional_call_matches_torch_and_restores_the_module():
    ours, theirs = _pair_models(_mlp)
    new = {"0.weight": RNG.standard_normal((4, 3)), "2.bias": RNG.standard_normal(2)}
    x = RNG.standard_normal((5, 3))
    before = {k: v.numpy().copy() for k, v in ours.state_dict().items()}
    got = ef.functional_call(ours, {k: ember.tensor(v) for k, v in new.items()}, ember.tensor(x))
    want = tf.functional_call(theirs, {k: torch.tensor(v) for k, v in new.items()}, torch.tensor(x))
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12)
    for k, v in ours.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    assert isinstance(ours[0].weight, ember.nn.Parameter)
    np.testing.assert_allclose(
        ours(ember.tensor(x)).detach().numpy(), theirs(torch.tensor(x)).detach().numpy()
    )


def test_functional_call_gradients_flow_to_the_given_tensors():
    ours, theirs = _pair_models(_mlp)
    x = RNG.standard_normal((5, 3))
    grads = []
    for lib, func, model in ((ember, ef, ours), (torch, tf, theirs)):
        params = {k: v.detach().clone().requires_grad_() for k, v in model.named_parameters()}
        out = func.functional_call(model, params, args=(lib.tensor(x),))
        out.pow(2).sum().backward()
        grads.append({k: v.grad.numpy() for k, v in params.items()})
        assert all(p.grad is None for p in model.parameters())
    for k in grads[1]:
        np.testing.assert_allclose(grads[0][k], grads[1][k], rtol=1e-12)


def test_functional_call_buffers_kwargs_and_dict_tuples():
    def make(lib):
        return lib.nn.BatchNorm1d(3)

    ours, theirs = _pair_models(make)
    ours.eval()
    theirs.eval()
    stats = {"running_mean": RNG.standard_normal(3), "running_var": RNG.uniform(1, 2, 3)}
    weight = {"weight": RNG.standard_normal(3)}
    x = RNG.standard_normal((4, 3))
    got = ef.functional_call(
        ours,
        (
            {k: ember.tensor(v) for k, v in weight.items()},
            {k: ember.tensor(v) for k, v in stats.items()},
        ),
        args=(),
        kwargs={"input": ember.tensor(x)},
    )
    want = tf.functional_call(
        theirs,
        (
            {k: torch.tensor(v) for k, v in weight.items()},
            {k: torch.tensor(v) for k, v in stats.items()},
        ),
        args=(),
        kwargs={"input": torch.tensor(x)},
    )
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12)


def test_functional_call_tied_weights():
    class Tied(ember.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = ember.nn.Linear(2, 2, bias=False)
            self.b = ember.nn.Linear(2, 2, bias=False)
            self.b.weight = self.a.weight

        def forward(self, x):
            return self.b(self.a(x))

    model = Tied().double()
    w = ember.tensor(RNG.standard_normal((2, 2)))
    x = ember.tensor(RNG.standard_normal((1, 2)))
    tied = ef.functional_call(model, {"a.weight": w}, x)
    np.testing.assert_allclose(
        tied.detach().numpy(), x.numpy() @ w.numpy().T @ w.numpy().T, rtol=1e-12
    )
    untied = ef.functional_call(model, {"a.weight": w}, x, tie_weights=False)
    expected = x.numpy() @ w.numpy().T @ model.a.weight.detach().numpy().T
    np.testing.assert_allclose(untied.detach().numpy(), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="tied"):
        ef.functional_call(model, {"a.weight": w, "b.weight": w * 2}, x)


def test_functional_call_errors_and_restores_after_an_exception():
    model = _mlp(ember)
    original = model[0].weight
    with pytest.raises(RuntimeError, match="unexpected key.*'nope'"):
        ef.functional_call(model, {"nope": ember.ones(1)}, ember.ones(1, 3))
    with pytest.raises(RuntimeError, match="missing key.*2.bias"):
        ef.functional_call(model, {"0.weight": ember.ones(4, 3)}, ember.ones(1, 3), strict=True)
    with pytest.raises(ValueError, match="multiple dictionaries"):
        ef.functional_call(
            model, ({"0.bias": ember.ones(4)}, {"0.bias": ember.ones(4)}), ember.ones(1, 3)
        )
    with pytest.raises(RuntimeError):
        ef.functional_call(model, {"0.weight": ember.ones(4, 7)}, ember.ones(1, 3))
    assert model[0].weight is original


def test_stack_module_state_matches_torch_and_ensembles_with_vmap():
    pairs = [_pair_models(_mlp, seed) for seed in range(3)]
    ours_params, ours_buffers = ef.stack_module_state([p[0] for p in pairs])
    theirs_params, theirs_buffers = tf.stack_module_state([p[1] for p in pairs])
    assert set(ours_params) == set(theirs_params) and not ours_buffers and not theirs_buffers
    for k, v in theirs_params.items():
        np.testing.assert_array_equal(ours_params[k].detach().numpy(), v.detach().numpy())
        assert ours_params[k].requires_grad and ours_params[k].grad_fn is None
    x = RNG.standard_normal((5, 3))
    outputs = []
    for lib, func, model, params in (
        (ember, ef, pairs[0][0], ours_params),
        (torch, tf, pairs[0][1], theirs_params),
    ):

        def call(p, data, func=func, model=model):
            return func.functional_call(model, p, (data,))

        outputs.append(func.vmap(call, in_dims=(0, None))(params, lib.tensor(x)).detach().numpy())
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-12)
    np.testing.assert_allclose(
        outputs[0][1], pairs[1][0](ember.tensor(x)).detach().numpy(), rtol=1e-12
    )


def test_stack_module_state_buffers_and_errors():
    norms = [ember.nn.BatchNorm1d(2) for _ in range(2)]
    norms[1].running_mean.fill_(3.0)
    _, buffers = ef.stack_module_state(norms)
    np.testing.assert_array_equal(buffers["running_mean"].numpy(), [[0, 0], [3, 3]])
    with pytest.raises(RuntimeError, match="at least one model"):
        ef.stack_module_state([])
    with pytest.raises(RuntimeError, match="same class"):
        ef.stack_module_state([ember.nn.Linear(2, 2), ember.nn.Bilinear(2, 2, 2)])
    with pytest.raises(RuntimeError, match="training/eval"):
        ef.stack_module_state([ember.nn.Linear(2, 2), ember.nn.Linear(2, 2).eval()])
