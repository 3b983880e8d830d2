"""float32 LSTM and GRU layers on oneDNN's recurrent primitives, against torch 2.13.

Every case checks that the oneDNN kernels ran (calls counted through the module ember's ops
call them from) and that outputs, final states and every gradient equal torch's.
"""

import numpy as np
import pytest
import torch

import ember
from ember.backends.onednn import library
from ember.backends.onednn import rnn as onednn_rnn
from ember.nn.utils import rnn as ernn
from tests.nn.helpers import check_gradcheck, compare_modules, copy_weights

pytestmark = pytest.mark.skipif(not library.available(), reason="oneDNN is not installed")

RTOL, ATOL = 1e-4, 1e-5  # float32: sums over a sequence, in another order than torch's
I, H = 5, 6
KINDS = ["LSTM", "GRU"]


@pytest.fixture
def onednn_calls(monkeypatch):
    """How many forwards and backwards oneDNN ran, of either cell (declined calls are not
    counted)."""
    counts = {"forward": 0, "backward": 0}

    def counted(direction, real):
        def run(*args):
            result = real(*args)
            counts[direction] += result is not None
            return result

        return run

    for cell in ("lstm", "gru"):
        for direction in ("forward", "backward"):
            name = f"{cell}_{direction}"
            monkeypatch.setattr(onednn_rnn, name, counted(direction, getattr(onednn_rnn, name)))
    return counts


def _flat(out):
    """(output, (h, c)) or (output, h) -> a flat tuple."""
    o, h = out
    return (o, *h) if isinstance(h, tuple) else (o, h)


def _call(mod, x, *state):
    """Run with the initial state as each module takes it, or without one."""
    if not state:
        return mod(x)
    return mod(x, tuple(state) if len(state) == 2 else state[0])


def _modules(kind, **kwargs):
    torch.manual_seed(0)
    return getattr(torch.nn, kind)(I, H, **kwargs), getattr(ember.nn, kind)(I, H, **kwargs)


def _states(kind, rng, n_states, B):
    return [rng.standard_normal((n_states, B, H)) for _ in range(2 if kind == "LSTM" else 1)]


CASES = [
    # layers, bidirectional, batch_first, initial state, T, B, bias
    (1, False, False, False, 7, 4, True),
    (1, False, True, True, 7, 4, True),
    (2, False, True, False, 5, 3, True),
    (2, False, False, True, 5, 3, True),
    (1, True, False, True, 6, 2, True),
    (1, True, True, False, 6, 2, True),
    (2, True, True, True, 4, 3, True),
    (1, False, False, True, 1, 3, True),  # one step
    (1, False, True, False, 6, 1, True),  # one row
    (2, True, False, True, 1, 1, True),
    (1, False, True, True, 5, 3, False),  # no bias
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("layers, bidirectional, batch_first, with_state, T, B, bias", CASES)
def test_matches_torch(
    onednn_calls, kind, layers, bidirectional, batch_first, with_state, T, B, bias
):
    tmod, emod = _modules(
        kind, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias
    )
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((B, T, I) if batch_first else (T, B, I))]
    n_states = layers * (2 if bidirectional else 1)
    if with_state:
        arrays += _states(kind, rng, n_states, B)
    compare_modules(
        tmod, emod, arrays, "float32", rtol=RTOL, atol=ATOL, call=_call, pick=_flat
    )  # fmt: skip
    assert onednn_calls == {"forward": n_states, "backward": n_states}


@pytest.mark.parametrize("kind", KINDS)
def test_unbatched_input(onednn_calls, kind):
    tmod, emod = _modules(kind)
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((4, I))] + [a[:, 0] for a in _states(kind, rng, 1, 1)]
    compare_modules(
        tmod, emod, arrays, "float32", rtol=RTOL, atol=ATOL, call=_call, pick=_flat
    )  # fmt: skip
    assert onednn_calls == {"forward": 1, "backward": 1}


@pytest.mark.parametrize("kind", KINDS)
def test_inference_without_grad(onednn_calls, kind):
    """Without a graph the forward keeps no workspace and matches torch's outputs."""
    tmod, emod = _modules(kind, num_layers=2, batch_first=True)
    copy_weights(tmod, emod, "float32")
    x = np.random.default_rng(3).standard_normal((2, 6, I)).astype(np.float32)
    with torch.no_grad():
        expected = _flat(tmod(torch.tensor(x)))
    with ember.no_grad():
        got = _flat(emod(ember.tensor(x)))
    for e, t in zip(got, expected):
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=RTOL, atol=ATOL)
    assert onednn_calls == {"forward": 2, "backward": 0}


@pytest.mark.parametrize("kind", KINDS)
def test_backward_twice_does_not_accumulate(onednn_calls, kind):
    """oneDNN adds weight gradients to its output unless told not to: two backward passes
    over one graph give the same gradients."""
    _, emod = _modules(kind)
    x = ember.tensor(np.random.default_rng(4).standard_normal((5, 3, I)).astype(np.float32))
    out, _ = emod(x)
    loss = (out * out).sum()
    params = list(emod.parameters())
    first = [g.numpy().copy() for g in ember.autograd.grad(loss, params, retain_graph=True)]
    second = [g.numpy() for g in ember.autograd.grad(loss, params)]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert onednn_calls == {"forward": 1, "backward": 2}


@pytest.mark.parametrize("kind", KINDS)
def test_output_changed_in_place_before_backward(onednn_calls, kind):
    """Writing into the returned output before backward leaves the gradients those of the
    values the forward computed (torch's float64 layers allow it; its float32 ones raise)."""
    _, emod = _modules(kind)
    x = np.random.default_rng(5).standard_normal((4, 2, I)).astype(np.float32)
    grads = []
    for change in (False, True):
        xi = ember.tensor(x, requires_grad=True)
        out, *states = _flat(emod(xi))
        loss = out.sum() + sum((s * s).sum() for s in states)
        if change:
            with ember.no_grad():
                out.mul_(0.0)
        loss.backward()
        grads.append(xi.grad.numpy())
    np.testing.assert_array_equal(grads[1], grads[0])
    assert onednn_calls["backward"] == 2


@pytest.mark.parametrize("kind", KINDS)
def test_dropout_between_layers_matches_numpy_loop(onednn_calls, monkeypatch, kind):
    """With dropout, the same seed gives the same masks: the oneDNN layers and the NumPy loop
    agree, forward and backward."""
    _, emod = _modules(kind, num_layers=3, dropout=0.5, bidirectional=True)
    x = np.random.default_rng(6).standard_normal((5, 3, I)).astype(np.float32)

    def run():
        ember.manual_seed(7)
        xi = ember.tensor(x, requires_grad=True)
        out, *states = _flat(emod(xi))
        ((out * out).sum() + sum(s.sum() for s in states)).backward()
        grads = [xi.grad.numpy()] + [p.grad.numpy().copy() for p in emod.parameters()]
        emod.zero_grad()
        return [out.detach().numpy()] + [s.detach().numpy() for s in states] + grads

    fused = run()
    assert onednn_calls == {"forward": 6, "backward": 6}
    monkeypatch.setattr(onednn_rnn, f"{kind.lower()}_forward", lambda *args: None)
    for a, b in zip(fused, run()):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("kind", KINDS)
def test_packed_sequences_take_the_numpy_loop(onednn_calls, kind):
    """Each row's own last step is not oneDNN's: packed batches still match torch."""
    tmod, emod = _modules(kind, num_layers=2, bidirectional=True)
    lengths = [5, 2, 4]
    x = np.random.default_rng(8).standard_normal((5, 3, I))

    def call(mod, x):
        mod_rnn = torch.nn.utils.rnn if isinstance(x, torch.Tensor) else ernn
        packed = mod_rnn.pack_padded_sequence(x, lengths, enforce_sorted=False)
        out, *states = _flat(mod(packed))
        return (mod_rnn.pad_packed_sequence(out)[0], *states)

    compare_modules(tmod, emod, [x], "float32", rtol=RTOL, atol=ATOL, call=call)
    assert onednn_calls == {"forward": 0, "backward": 0}


@pytest.mark.parametrize("kind", KINDS)
def test_gradient_penalty_through_onednn_forward(onednn_calls, kind):
    """create_graph re-runs the layer with ember ops, so a gradient of a gradient works after
    a oneDNN forward; torch's float64 layer is the reference."""
    tmod, emod = _modules(kind, num_layers=2, batch_first=True)
    copy_weights(tmod, emod, "float64")
    emod.float()
    x = np.random.default_rng(9).standard_normal((2, 4, I))
    results = []
    for lib, mod, dtype in ((torch, tmod, np.float64), (ember, emod, np.float32)):
        xi = lib.tensor(x.astype(dtype), requires_grad=True)
        out, _ = mod(xi)
        (gx,) = lib.autograd.grad((out * out).sum(), xi, create_graph=True)
        (gx * gx).sum().backward()
        results.append({n: p.grad.numpy() for n, p in mod.named_parameters()})
    for name, expected in results[0].items():
        np.testing.assert_allclose(results[1][name], expected, rtol=1e-3, atol=1e-5, err_msg=name)
    assert onednn_calls["forward"] == 2


@pytest.mark.parametrize("kind", KINDS)
def test_float64_takes_the_numpy_loop_and_passes_gradcheck(onednn_calls, kind):
    _, emod = _modules(kind, bidirectional=True)
    emod.double()
    x = np.random.default_rng(10).standard_normal((3, 2, I))
    check_gradcheck(lambda x: emod(x)[0], [x])
    assert onednn_calls == {"forward": 0, "backward": 0}


@pytest.mark.parametrize("kind", KINDS)
def test_declined_backward_falls_back_to_the_numpy_loop(onednn_calls, monkeypatch, kind):
    """A backward oneDNN refuses after its forward ran recomputes the loop in NumPy."""
    tmod, emod = _modules(kind, batch_first=True)
    monkeypatch.setattr(onednn_rnn, f"{kind.lower()}_backward", lambda *args: None)
    rng = np.random.default_rng(11)
    arrays = [rng.standard_normal((3, 4, I))] + _states(kind, rng, 1, 3)
    compare_modules(
        tmod, emod, arrays, "float32", rtol=RTOL, atol=ATOL, call=_call, pick=_flat
    )  # fmt: skip
    assert onednn_calls["forward"] == 1


@pytest.mark.parametrize("dtype", [np.float64, np.float16])
def test_kernels_decline_other_dtypes(dtype):
    rng = np.random.default_rng(12)
    x = rng.standard_normal((3, 2, I)).astype(dtype)
    h0 = np.zeros((2, H), dtype)
    w_ih, w_hh = (rng.standard_normal((4 * H, n)).astype(dtype) for n in (I, H))
    assert onednn_rnn.lstm_forward(x, h0, h0, w_ih, w_hh, None, True) is None
    assert onednn_rnn.gru_forward(x, h0, w_ih[: 3 * H], w_hh[: 3 * H], None, None, True) is None


def test_inference_reads_a_transposed_batch_without_a_copy():
    """A (T, B, I) view of batch-major memory and its time-major copy give the same layer."""
    rng = np.random.default_rng(13)
    batch_major = rng.standard_normal((3, 5, I)).astype(np.float32)
    h0, c0 = (rng.standard_normal((3, H)).astype(np.float32) for _ in range(2))
    w_ih = rng.standard_normal((4 * H, I)).astype(np.float32)
    w_hh = rng.standard_normal((4 * H, H)).astype(np.float32)
    bias = rng.standard_normal(4 * H).astype(np.float32)
    view = batch_major.transpose(1, 0, 2)
    assert onednn_rnn._sequence_layout(view) == "ntc"
    a = onednn_rnn.lstm_forward(view, h0, c0, w_ih, w_hh, bias, False)
    b = onednn_rnn.lstm_forward(np.ascontiguousarray(view), h0, c0, w_ih, w_hh, bias, False)
    for x, y in zip(a[:3], b[:3]):
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)
