"""The fused recurrent layer ops against torch's single-layer RNN, LSTM and GRU."""

import numpy as np
import pytest
import torch

import ember
from ember._ops.rnn import GRULayer, LSTMLayer, RNNLayer

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("bias", [True, False])
def test_layer_matches_torch(kind, bias):
    rng = np.random.default_rng(0)
    T, B, I, H = 5, 3, 4, 6
    x, h0, c0 = (
        rng.standard_normal((T, B, I)),
        rng.standard_normal((B, H)),
        rng.standard_normal((B, H)),
    )
    G = GATES[kind]
    weights = [rng.standard_normal((G * H, I)) * 0.3, rng.standard_normal((G * H, H)) * 0.3]
    if bias:
        weights += [rng.standard_normal(G * H) * 0.1, rng.standard_normal(G * H) * 0.1]
    tmod = getattr(torch.nn, kind)(I, H, bias=bias).double()
    with torch.no_grad():
        for p, w in zip(tmod.parameters(), weights):
            p.copy_(torch.tensor(w))
    tx, th, tc = (torch.tensor(a, requires_grad=True) for a in (x, h0[None], c0[None]))
    ex, eh, ec = (ember.tensor(a, requires_grad=True) for a in (x, h0, c0))
    params = [ember.tensor(w, requires_grad=True) for w in weights] + [None] * (4 - len(weights))
    if kind == "LSTM":
        t_out, (t_h, t_c) = tmod(tx, (th, tc))
        e_out, e_h, e_c = LSTMLayer.apply(ex, eh, ec, *params)
        t_loss = (t_out**2).sum() + (t_h * 3).sum() + (t_c**2).sum()
        e_loss = (e_out**2).sum() + (e_h * 3).sum() + (e_c**2).sum()
    else:
        t_out, t_h = tmod(tx, th)
        if kind == "GRU":
            e_out, e_h = GRULayer.apply(ex, eh, *params)
        else:
            e_out, e_h = RNNLayer.apply(ex, eh, *params, "tanh")
        t_loss = (t_out**2).sum() + (t_h * 3).sum()
        e_loss = (e_out**2).sum() + (e_h * 3).sum()
    t_loss.backward()
    e_loss.backward()
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(eh.grad.numpy(), th.grad.numpy()[0], atol=1e-12)
    for p, tp in zip(params, tmod.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), atol=1e-12)
