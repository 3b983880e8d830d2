"""Guards and recompilation, eager fallback where capture fails, fullgraph=True."""

import logging

import numpy as np
import pytest

import ember
from ember._dynamo import config, exc, utils


def _compilations(name):
    _, rows = utils.compile_times(repr="csv")
    return sum(row[0] == name for row in rows)


def scaled_tanh(x):
    return ember.tanh(x * 2.0) + 1.0


def test_new_shape_dtype_and_requires_grad_recompile():
    utils.reset_compile_times()
    compiled = ember.compile(scaled_tanh)
    x = ember.randn(3, 4)
    compiled(x)
    compiled(x)
    assert _compilations("scaled_tanh") == 1
    compiled(ember.randn(5, 4))
    assert _compilations("scaled_tanh") == 2
    out = compiled(x.double())
    assert _compilations("scaled_tanh") == 3 and out.dtype == ember.float64
    compiled(x.clone().requires_grad_(True))
    assert _compilations("scaled_tanh") == 4
    compiled(ember.randn(5, 4))  # seen before: no recompilation
    assert _compilations("scaled_tanh") == 4


def test_python_argument_values_are_guarded():
    def shifted(x, shift, scale=1.0):
        return (x + shift) * scale

    compiled = ember.compile(shifted)
    x = ember.randn(2, 3)
    for shift, scale in [(1, 1.0), (2, 1.0), (2, 3.0), (1, 1.0)]:
        expected = (x + shift) * scale
        np.testing.assert_allclose(compiled(x, shift, scale=scale).numpy(), expected.numpy())
    assert len(compiled._ember_compiled.cache) == 3


def test_train_eval_switch_recompiles_and_matches_eager():
    ember.manual_seed(0)
    model = ember.nn.Sequential(
        ember.nn.Linear(4, 8), ember.nn.BatchNorm1d(8), ember.nn.Dropout(0.5), ember.nn.ReLU()
    )
    compiled = ember.compile(model)
    x = ember.randn(16, 4)
    compiled(x)
    model.eval()
    expected = model(x)
    np.testing.assert_allclose(compiled(x).detach().numpy(), expected.detach().numpy(), rtol=1e-6)
    compiled.train()
    assert model.training
    assert len(compiled.dynamo_ctx.cache) == 2


def test_replaced_parameter_recompiles():
    model = ember.nn.Linear(3, 2)
    compiled = ember.compile(model)
    x = ember.randn(4, 3)
    compiled(x)
    model.weight = ember.nn.Parameter(ember.zeros(2, 3))
    np.testing.assert_allclose(compiled(x).detach().numpy(), model(x).detach().numpy())
    assert len(compiled.dynamo_ctx.cache) == 2


def test_recompile_limit_then_eager(caplog, monkeypatch):
    monkeypatch.setattr(config, "recompile_limit", 2)
    compiled = ember.compile(scaled_tanh)
    with caplog.at_level(logging.WARNING, logger="ember._dynamo"):
        for n in range(1, 5):
            x = ember.randn(n)
            np.testing.assert_allclose(compiled(x).numpy(), scaled_tanh(x).numpy(), rtol=1e-6)
    assert len(compiled._ember_compiled.cache) == 2
    assert caplog.text.count("recompile_limit") == 1


def data_dependent(x):
    if x.sum() > 0:
        return x * 2
    return x - 1


def test_data_dependent_control_flow_runs_eagerly():
    compiled = ember.compile(data_dependent)
    for sign in (1.0, -1.0, 1.0):
        x = ember.full((3,), sign)
        np.testing.assert_allclose(compiled(x).numpy(), data_dependent(x).numpy())
    assert "control flow" in compiled._ember_compiled.uncapturable


def test_fullgraph_raises_on_data_dependent_control_flow():
    compiled = ember.compile(data_dependent, fullgraph=True)
    with pytest.raises(exc.Unsupported, match="data_dependent.*control flow"):
        compiled(ember.ones(3))
    with pytest.raises(exc.Unsupported):
        compiled(ember.ones(3))


def test_module_with_python_control_flow_falls_back_once():
    class Gate(ember.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = ember.nn.Linear(3, 3)

        def forward(self, x):
            y = self.fc(x)
            return y.relu() if y.mean() > 0 else y.sigmoid()

    model = Gate()
    compiled = ember.compile(model)
    x = ember.randn(2, 3)
    for _ in range(2):
        np.testing.assert_allclose(compiled(x).detach().numpy(), model(x).detach().numpy())
    assert compiled.dynamo_ctx.uncapturable is not None and not compiled.dynamo_ctx.cache


def test_tensors_inside_containers_run_eagerly():
    def total(xs):
        return xs[0] * 2 + xs[1]

    compiled = ember.compile(total)
    xs = [ember.ones(2), ember.ones(2)]
    np.testing.assert_allclose(compiled(xs).numpy(), total(xs).numpy())
    assert "holds tensors" in compiled._ember_compiled.uncapturable


def test_in_place_write_between_chain_nodes_is_respected():
    def fn(x, y):
        a = x * 2.0
        x.add_(1.0)
        return (a + y).tanh()

    compiled = ember.compile(fn)
    for _ in range(2):
        x, y = ember.ones(3), ember.ones(3)
        expected = fn(x.clone(), y)
        np.testing.assert_allclose(compiled(x, y).numpy(), expected.numpy())
        np.testing.assert_allclose(x.numpy(), np.full(3, 2.0))
