"""RNN, LSTM, GRU, their cells and MultiheadAttention against torch with identical weights."""

import numpy as np
import pytest
import torch

import ember
from tests.nn.helpers import compare_modules, copy_weights

rng = np.random.default_rng(0)


def _flat(out):
    """(output, (h, c)) or (output, h) -> a flat tuple."""
    o, h = out
    return (o, *h) if isinstance(h, tuple) else (o, h)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("layers,bidirectional,batch_first", [(1, False, False), (2, True, True)])
def test_recurrent_layers(kind, layers, bidirectional, batch_first):
    args = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
    tmod = getattr(torch.nn, kind)(5, 7, **args)
    emod = getattr(ember.nn, kind)(5, 7, **args)
    shape = (3, 4, 5) if batch_first else (4, 3, 5)
    compare_modules(tmod, emod, [rng.standard_normal(shape)], pick=_flat)
    assert repr(emod) == repr(tmod)


def test_relu_rnn_float32():
    tmod, emod = torch.nn.RNN(4, 6, nonlinearity="relu"), ember.nn.RNN(4, 6, nonlinearity="relu")
    compare_modules(
        tmod,
        emod,
        [rng.standard_normal((5, 2, 4))],
        dtype="float32",
        rtol=1e-5,
        atol=1e-5,
        pick=_flat,
    )


def test_lstm_with_initial_state_and_unbatched_input():
    tmod, emod = torch.nn.LSTM(3, 4), ember.nn.LSTM(3, 4)
    arrays = [rng.standard_normal((6, 3)), rng.standard_normal((1, 4)), rng.standard_normal((1, 4))]
    compare_modules(tmod, emod, arrays, call=lambda m, x, h, c: m(x, (h, c)), pick=_flat)


def test_wrong_hidden_shape_names_both_shapes():
    lstm = ember.nn.LSTM(3, 4)
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 2, 4\), got \[1, 3, 4\]"):
        lstm(ember.zeros(5, 2, 3), (ember.zeros(1, 3, 4), ember.zeros(1, 3, 4)))


@pytest.mark.parametrize("cell", ["LSTMCell", "GRUCell", "RNNCell"])
def test_cells(cell):
    tmod, emod = getattr(torch.nn, cell)(4, 6), getattr(ember.nn, cell)(4, 6)
    compare_modules(tmod, emod, [rng.standard_normal((3, 4))])


@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention_with_masks(batch_first):
    tmod = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first)
    emod = ember.nn.MultiheadAttention(8, 2, batch_first=batch_first)
    L, N = 5, 3
    shape = (N, L, 8) if batch_first else (L, N, 8)
    pad = np.zeros((N, L), bool)
    pad[0, -2:] = True
    mask = np.triu(np.ones((L, L), bool), 1)
    arrays = [rng.standard_normal(shape) for _ in range(3)] + [pad, mask]
    compare_modules(
        tmod,
        emod,
        arrays,
        call=lambda m, q, k, v, p, a: m(q, k, v, key_padding_mask=p, attn_mask=a),
    )
    assert repr(emod) == repr(tmod)


def test_self_attention_weights_per_head():
    tmod, emod = torch.nn.MultiheadAttention(6, 3), ember.nn.MultiheadAttention(6, 3)
    copy_weights(tmod, emod)
    x = rng.standard_normal((4, 2, 6))
    t_out, t_w = tmod(*[torch.tensor(x)] * 3, average_attn_weights=False)
    e_out, e_w = emod(*[ember.tensor(x)] * 3, average_attn_weights=False)
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(e_w.detach().numpy(), t_w.detach().numpy(), rtol=1e-6)


def test_scaled_dot_product_attention_causal():
    q, k, v = (rng.standard_normal((2, 3, 5, 4)) for _ in range(3))
    t = torch.nn.functional.scaled_dot_product_attention(
        *(torch.tensor(a) for a in (q, k, v)), is_causal=True
    )
    e = ember.nn.functional.scaled_dot_product_attention(
        *(ember.tensor(a) for a in (q, k, v)), is_causal=True
    )
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6)
