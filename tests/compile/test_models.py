"""Compiled models against the same models run eagerly: outputs and every gradient."""

import copy
import sys
from pathlib import Path

import numpy as np
import pytest

import ember
from ember._compile.kernel import FusedKernel

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import workloads  # noqa: E402


class GeluMLP(ember.nn.Module):
    """An MLP whose activation chain (minGPT's NewGELU, then a residual scale) fuses."""

    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = ember.nn.Linear(16, 32), ember.nn.Linear(32, 4)

    def forward(self, x):
        h = self.fc1(x)
        h = 0.5 * h * (1.0 + ember.tanh(0.7978845608028654 * (h + 0.044715 * h**3)))
        return self.fc2(h * 0.5 + ember.sigmoid(h))


def _gpt_model():
    step = workloads.gpt(ember)
    return next(
        c.cell_contents for c in step.__closure__ if isinstance(c.cell_contents, ember.nn.Module)
    )


class EncoderBlock(ember.nn.Module):
    """A Transformer encoder layer (one call in the graph, as ember.nn layers are) and a
    fusible chain on its output."""

    def __init__(self):
        super().__init__()
        self.layer = ember.nn.TransformerEncoderLayer(
            32, 4, 64, dropout=0.0, batch_first=True, norm_first=True
        )

    def forward(self, x):
        return ember.nn.functional.gelu(self.layer(x) * 2.0 + 1.0, approximate="tanh")


MODELS = {
    "gelu_mlp": (GeluMLP, lambda: ember.randn(8, 16)),
    "mlp": (
        lambda: ember.nn.Sequential(
            ember.nn.Linear(20, 30), ember.nn.ReLU(), ember.nn.Linear(30, 5)
        ),
        lambda: ember.randn(6, 20),
    ),
    "cnn": (lambda: workloads.cnn_model(ember), lambda: ember.randn(4, 1, 28, 28)),
    "encoder_layer": (EncoderBlock, lambda: ember.randn(2, 5, 32)),
    "gpt": (_gpt_model, lambda: ember.randint(0, 512, (2, 16))),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_compiled_model_matches_eager(name):
    build, make_input = MODELS[name]
    ember.manual_seed(0)
    eager = build()
    model = copy.deepcopy(eager)
    compiled = ember.compile(model)
    x = make_input()
    for _ in range(3):  # the capturing call, then the compiled graph twice
        for m in (eager, model):
            m.zero_grad()
        out, expected = compiled(x), eager(x)
        np.testing.assert_allclose(
            out.detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-5
        )
        (out.float() ** 2).mean().backward()
        (expected.float() ** 2).mean().backward()
        for (pname, p), q in zip(model.named_parameters(), eager.parameters()):
            np.testing.assert_allclose(
                p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=pname
            )
    assert compiled.dynamo_ctx.uncapturable is None


def test_gelu_mlp_fuses_its_chain():
    compiled = ember.compile(GeluMLP())
    x = ember.randn(3, 16)
    compiled(x)
    (entry,) = compiled.dynamo_ctx.cache.values()
    kernels = [n.target for n in entry.graph.graph.nodes if isinstance(n.target, FusedKernel)]
    assert len(kernels) == 1  # gelu chain, scale and sigmoid: everything between fc1 and fc2
    assert sum(n.op == "call_module" for n in entry.graph.graph.nodes) == 2


def test_float64_model_matches_eager_to_1e12():
    ember.manual_seed(0)
    eager = GeluMLP().double()
    model = copy.deepcopy(eager)
    compiled = ember.compile(model)
    x = ember.randn(5, 16, dtype=ember.float64)
    compiled(x)
    out, expected = compiled(x), eager(x)
    np.testing.assert_allclose(
        out.detach().numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-12
    )
    out.sum().backward()
    expected.sum().backward()
    for p, q in zip(model.parameters(), eager.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_training_steps_follow_eager_trajectory():
    """An optimizer updating parameters in place between calls: the graph reads them live."""
    ember.manual_seed(0)
    eager = GeluMLP()
    model = copy.deepcopy(eager)
    compiled = ember.compile(model)
    opts = [ember.optim.AdamW(m.parameters(), lr=1e-2) for m in (eager, model)]
    x, y = ember.randn(8, 16), ember.randint(0, 4, (8,))
    for _ in range(4):
        for m, opt in zip((eager, compiled), opts):
            opt.zero_grad()
            ember.nn.functional.cross_entropy(m(x), y).backward()
            opt.step()
    for p, q in zip(model.parameters(), eager.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-5, atol=1e-6)
