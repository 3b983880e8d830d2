"""Double backward (create_graph=True) through recurrent layers and convolutions.

Checked in float64 against finite differences of the first derivative (gradgradcheck) and
against torch on a gradient penalty, the common use: d/dθ |d out / d x|².
"""

import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradgradcheck
from tests.nn.helpers import copy_weights

rng = np.random.default_rng(0)


def _functional(module, names):
    """module(x) as a function of x and the named parameters (the parameters are replaced)."""

    def run(x, *params):
        for name, p in zip(names, params):
            module._parameters[name] = p
        out = module(x)
        return out[0] if isinstance(out, tuple) else out

    return run


RNNS = [
    ("LSTM", {}),
    ("LSTM", {"num_layers": 2, "bidirectional": True}),
    ("GRU", {}),
    ("RNN", {}),
    ("RNN", {"nonlinearity": "relu", "bias": False}),
]


@pytest.mark.parametrize("name,kw", RNNS)
def test_rnn_gradgradcheck(name, kw):
    mod = getattr(ember.nn, name)(3, 2, **kw).double()
    names = [n for n, _ in mod.named_parameters()] if not kw.get("num_layers") else []
    params = [ember.tensor(mod._parameters[n].detach().numpy(), requires_grad=True) for n in names]
    x = ember.tensor(rng.standard_normal((3, 2, 3)), requires_grad=True)
    fn = _functional(mod, names) if names else (lambda x: mod(x)[0])
    assert gradgradcheck(fn, [x, *params], atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("name", ["LSTM", "GRU", "RNN"])
def test_gradient_penalty_matches_torch(name):
    t = getattr(torch.nn, name)(4, 3, num_layers=2, batch_first=True)
    e = getattr(ember.nn, name)(4, 3, num_layers=2, batch_first=True)
    copy_weights(t, e, "float64")
    x = rng.standard_normal((2, 5, 4))
    results = []
    for lib, mod in ((torch, t), (ember, e)):
        xi = lib.tensor(x, requires_grad=True)
        out, _ = mod(xi)
        (gx,) = lib.autograd.grad((out * out).sum(), xi, create_graph=True)
        (gx * gx).sum().backward()
        results.append({n: p.grad.detach().numpy() for n, p in mod.named_parameters()})
    for n, tg in results[0].items():
        np.testing.assert_allclose(results[1][n], tg, rtol=1e-6, atol=1e-9, err_msg=n)


def test_lstm_first_order_backward_is_unchanged_by_the_recorded_path():
    """The fused backward and the re-run reference give the same first derivative."""
    e = ember.nn.LSTM(3, 2).double()
    x = ember.tensor(rng.standard_normal((4, 2, 3)), requires_grad=True)
    (fused,) = ember.autograd.grad(e(x)[0].sum(), x)
    (recorded,) = ember.autograd.grad(e(x)[0].sum(), x, create_graph=True)
    np.testing.assert_allclose(recorded.detach().numpy(), fused.numpy(), rtol=1e-12)


def test_conv3d_gradient_penalty_matches_torch():
    t, e = torch.nn.Conv3d(2, 3, 2, padding=1), ember.nn.Conv3d(2, 3, 2, padding=1)
    copy_weights(t, e, "float64")
    x = rng.standard_normal((1, 2, 3, 3, 3))
    grads = []
    for lib, mod in ((torch, t), (ember, e)):
        xi = lib.tensor(x, requires_grad=True)
        (gx,) = lib.autograd.grad((mod(xi).tanh()).sum(), xi, create_graph=True)
        (gx * gx).sum().backward()
        grads.append(mod.weight.grad.detach().numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-6, atol=1e-9)


def test_conv2d_gradgradcheck():
    x = ember.tensor(rng.standard_normal((1, 2, 4, 4)), requires_grad=True)
    w = ember.tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    fn = lambda x, w: ember.nn.functional.conv2d(x, w, padding=1)  # noqa: E731
    assert gradgradcheck(fn, [x, w], atol=1e-5, rtol=1e-3)
