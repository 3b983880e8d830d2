"""Padding and packing of variable-length sequences, and RNNs over packed batches, vs torch."""

import numpy as np
import pytest
import torch
from torch.nn.utils import rnn as trnn

import ember
from ember.nn.utils import rnn as ernn
from tests.nn.helpers import check_gradcheck, compare_functions, compare_modules

DTYPES = ["float32", "float64"]


def _lib(x):
    return (torch, trnn) if isinstance(x, torch.Tensor | torch.nn.Module) else (ember, ernn)


def _seqs(lengths, feat=(3,), seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n, *feat)) for n in lengths]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence(dtype, batch_first, side):
    def fn(*xs):
        return _lib(xs[0])[1].pad_sequence(
            list(xs), batch_first=batch_first, padding_value=-2.5, padding_side=side
        )

    compare_functions(fn, fn, _seqs([3, 5, 1], (2, 3)), dtype)


def test_pad_sequence_errors():
    for lib, mod in ((torch, trnn), (ember, ernn)):
        with pytest.raises(RuntimeError):
            mod.pad_sequence([lib.zeros(2, 3), lib.zeros(2, 4)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths", [[5, 3, 3, 1], [2, 5, 1, 4], [3, 5, 3, 5, 1]])
@pytest.mark.parametrize("as_tensor", [False, True])
def test_pack_pad_round_trip(dtype, batch_first, lengths, as_tensor):
    padded = ernn.pad_sequence([ember.tensor(s) for s in _seqs(lengths)], batch_first)
    sorted_ = lengths == sorted(lengths, reverse=True)

    def fn(x):
        lib, mod = _lib(x)
        lens = lib.tensor(lengths) if as_tensor else lengths
        packed = mod.pack_padded_sequence(x, lens, batch_first, enforce_sorted=sorted_)
        out, out_lengths = mod.pad_packed_sequence(
            packed, batch_first, padding_value=7.0, total_length=7
        )
        return packed.data * 1.0, packed.batch_sizes, out, out_lengths

    compare_functions(fn, fn, [padded.numpy()], dtype)


def test_packed_sequence_fields():
    lengths = [2, 4, 3]
    tp = trnn.pack_sequence([torch.tensor(s) for s in _seqs(lengths)], enforce_sorted=False)
    ep = ernn.pack_sequence([ember.tensor(s) for s in _seqs(lengths)], enforce_sorted=False)
    assert isinstance(ep, tuple) and ep._fields == tp._fields
    for name in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        np.testing.assert_array_equal(getattr(ep, name).numpy(), getattr(tp, name).numpy())
        assert getattr(ep, name).dtype == ember.int64
    np.testing.assert_array_equal(ep.data.numpy(), tp.data.numpy())
    assert ep.to(ember.float32).data.dtype == ember.float32
    assert ep.float().batch_sizes is ep.batch_sizes
    sorted_pack = ernn.pack_sequence([ember.tensor(s) for s in _seqs([4, 3, 2])])
    assert sorted_pack.sorted_indices is None and sorted_pack.unsorted_indices is None
    for e, t in zip(ernn.unpack_sequence(ep), trnn.unpack_sequence(tp)):
        np.testing.assert_array_equal(e.numpy(), t.numpy())
    tpad, tl = trnn.pad_packed_sequence(tp)
    epad, el = ernn.pad_packed_sequence(ep)
    for e, t in zip(ernn.unpad_sequence(epad, el), trnn.unpad_sequence(tpad, tl)):
        np.testing.assert_array_equal(e.numpy(), t.numpy())


@pytest.mark.parametrize(
    "lengths, kwargs",
    [([2, 3], {}), ([3, 0], {}), ([3], {}), ([3, 1], {"total": 2})],
)
def test_pack_errors_match_torch(lengths, kwargs):
    x = np.zeros((3, len(lengths) if len(lengths) > 1 else 2, 2))
    for lib, mod in ((torch, trnn), (ember, ernn)):
        with pytest.raises(Exception) as info:
            packed = mod.pack_padded_sequence(lib.tensor(x), lengths)
            mod.pad_packed_sequence(packed, total_length=kwargs["total"])
        if lib is torch:
            t_type = info.type
        else:
            assert info.type is t_type, (info.value, t_type)


def test_pack_enforce_sorted_message():
    with pytest.raises(RuntimeError, match="enforce_sorted"):
        ernn.pack_padded_sequence(ember.zeros(3, 2, 1), [2, 3])


def _run_packed(mod, x, lengths, batch_first, enforce_sorted, hx=None):
    lib, utils = _lib(mod)
    packed = utils.pack_padded_sequence(x, lengths, batch_first, enforce_sorted)
    out, hidden = mod(packed, hx)
    assert isinstance(out, utils.PackedSequence)
    np.testing.assert_array_equal(np.asarray(out.batch_sizes), np.asarray(packed.batch_sizes))
    padded, _ = utils.pad_packed_sequence(out, batch_first)
    hidden = hidden if isinstance(hidden, tuple) else (hidden,)
    return (padded, *hidden)


CASES = [
    # mode, layers, bidirectional, batch_first, lengths
    ("LSTM", 1, False, False, [5, 3, 3, 1]),
    ("LSTM", 2, True, True, [2, 5, 1, 4]),
    ("GRU", 2, True, False, [4, 1, 3]),
    ("GRU", 1, False, True, [1, 4, 2]),
    ("RNN", 2, True, True, [3, 5, 2]),
    ("RNN_relu", 1, True, False, [4, 4, 2]),
]


def _modules(mode, layers, bidirectional, batch_first):
    name = mode.split("_")[0]
    kwargs = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
    if mode == "RNN_relu":
        kwargs["nonlinearity"] = "relu"
    torch.manual_seed(0)
    return getattr(torch.nn, name)(3, 4, **kwargs), getattr(ember.nn, name)(3, 4, **kwargs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode, layers, bidirectional, batch_first, lengths", CASES)
def test_rnn_packed_matches_torch(dtype, mode, layers, bidirectional, batch_first, lengths):
    tmod, emod = _modules(mode, layers, bidirectional, batch_first)
    T, B = max(lengths), len(lengths)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((B, T, 3) if batch_first else (T, B, 3))
    enforce = lengths == sorted(lengths, reverse=True)
    n_states = layers * (2 if bidirectional else 1)
    arrays = [x] + [rng.standard_normal((n_states, B, 4))] * (2 if mode == "LSTM" else 1)

    def call(mod, x, *hx):
        hx = tuple(hx) if len(hx) == 2 else hx[0]
        return _run_packed(mod, x, lengths, batch_first, enforce, hx)

    compare_modules(tmod, emod, arrays, dtype, call=call)


@pytest.mark.parametrize("mode", ["LSTM", "GRU"])
def test_rnn_packed_default_state(mode):
    tmod, emod = _modules(mode, 2, True, False)
    x = np.random.default_rng(2).standard_normal((4, 3, 3))
    compare_modules(
        tmod, emod, [x], call=lambda mod, x: _run_packed(mod, x, [2, 4, 3], False, False)
    )


def test_rnn_packed_input_size_error():
    _, emod = _modules("LSTM", 1, False, False)
    packed = ernn.pack_sequence([ember.zeros(3, 5)])
    with pytest.raises(RuntimeError, match="LSTM"):
        emod(packed)


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
def test_rnn_packed_gradcheck(mode):
    _, emod = _modules(mode, 1, True, False)
    emod.double()
    x = np.random.default_rng(3).standard_normal((3, 2, 3))

    def fn(x):
        packed = ernn.pack_padded_sequence(x, [2, 3], enforce_sorted=False)
        out, hidden = emod(packed)
        hidden = hidden if isinstance(hidden, tuple) else (hidden,)
        return (out.data, *hidden)

    check_gradcheck(fn, [x], second_order=True)
