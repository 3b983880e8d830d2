"""Quantized models' state dicts against PyTorch's: keys, packed parameters, checkpoints in both
directions, and exact round trips through ember.save and ember.load."""

import copy
import io
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import ember
from ember import nn
from ember.ao.quantization import (
    QuantizedTensor,
    per_channel_dynamic_qconfig,
    quantize_dynamic,
    quantize_per_channel,
    quantize_per_tensor,
)
from ember.serialization import CheckpointError


def _model(lib, bidirectional=False):
    class Model(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = lib.nn.LSTM(6, 5, 2, bidirectional=bidirectional)
            self.gru = lib.nn.GRU(6, 4)
            self.fc = lib.nn.Linear(5 * (2 if bidirectional else 1), 3)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.fc(out) + self.gru(x)[0].sum(-1, keepdim=True)

    return Model().eval()


def _pair(per_channel=False, bidirectional=False):
    """The same float model in both libraries, quantized by each."""
    ember.manual_seed(0)
    e = _model(ember, bidirectional)
    t = _model(torch, bidirectional)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in e.state_dict().items()})
    if per_channel:
        eq = quantize_dynamic(
            e, dict.fromkeys((nn.Linear, nn.LSTM, nn.GRU), per_channel_dynamic_qconfig)
        )
        their_qconfig = torch.ao.quantization.per_channel_dynamic_qconfig
        tq = torch.ao.quantization.quantize_dynamic(
            t, dict.fromkeys((torch.nn.Linear, torch.nn.LSTM, torch.nn.GRU), their_qconfig)
        )
    else:
        kinds = {nn.Linear, nn.LSTM, nn.GRU}
        eq = quantize_dynamic(e, kinds)
        tq = torch.ao.quantization.quantize_dynamic(
            t, {torch.nn.Linear, torch.nn.LSTM, torch.nn.GRU}
        )
    return eq, tq


def _same_qtensor(ours, theirs):
    assert ours.dtype.name == str(theirs.dtype).split(".")[1]
    assert str(ours.qscheme()).split(".")[1] == str(theirs.qscheme()).split(".")[1]
    np.testing.assert_array_equal(ours.int_repr().numpy(), theirs.int_repr().numpy())
    if theirs.qscheme() == torch.per_tensor_affine:
        assert ours.q_scale() == pytest.approx(theirs.q_scale(), rel=1e-6)
        assert ours.q_zero_point() == theirs.q_zero_point()
    else:
        np.testing.assert_allclose(
            ours.q_per_channel_scales().numpy(), theirs.q_per_channel_scales().numpy(), rtol=1e-6
        )
        np.testing.assert_array_equal(
            ours.q_per_channel_zero_points().numpy(), theirs.q_per_channel_zero_points().numpy()
        )
        assert ours.q_per_channel_axis() == theirs.q_per_channel_axis()


def _same_value(ours, theirs):
    """A state dict value of ember's against PyTorch's, recursively."""
    if isinstance(theirs, torch.ScriptObject):
        (body, name), (their_body, their_name) = ours.__getstate__(), theirs.__getstate__()
        assert name == their_name
        _same_value(body, their_body)
    elif isinstance(theirs, tuple | list):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same_value(a, b)
    elif isinstance(theirs, torch.Tensor) and theirs.is_quantized:
        _same_qtensor(ours, theirs)
    elif isinstance(theirs, torch.Tensor):
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-6)
        assert ours.shape == tuple(theirs.shape)
    elif isinstance(theirs, torch.dtype):
        assert str(ours) == str(theirs).replace("torch", "ember")
    else:
        assert ours == theirs


@pytest.mark.parametrize("per_channel", [False, True])
def test_state_dict_keys_and_values_match_pytorch(per_channel):
    eq, tq = _pair(per_channel, bidirectional=True)
    ours, theirs = eq.state_dict(), tq.state_dict()
    assert list(ours) == list(theirs)
    for key in theirs:
        _same_value(ours[key], theirs[key])


def test_packed_parameter_surface_matches_pytorch():
    eq, tq = _pair()
    packed, their_packed = eq.fc._packed_params, tq.fc._packed_params
    assert str(packed.dtype) == "ember.qint8" and their_packed.dtype == torch.qint8
    _same_value(packed._packed_params, their_packed._packed_params)
    _same_value(eq.fc.weight(), tq.fc.weight())
    _same_value(eq.fc.bias(), tq.fc.bias())
    assert (eq.fc.scale, eq.fc.zero_point) == (tq.fc.scale, tq.fc.zero_point)
    for module in ("rnn", "gru"):
        ours, theirs = getattr(eq, module)._weight_bias(), getattr(tq, module)._weight_bias()
        assert {k: list(v) for k, v in ours.items()} == {k: list(v) for k, v in theirs.items()}
        for kind in ("weight", "bias"):
            for name in theirs[kind]:
                _same_value(ours[kind][name], theirs[kind][name])
        assert repr(getattr(eq, module)) == repr(getattr(tq, module))
    assert repr(eq.fc).replace("ember.", "torch.") == repr(tq.fc)


def _outputs(model, lib, x):
    with lib.no_grad():
        return model(lib.tensor(x)).numpy()


@pytest.mark.parametrize("per_channel", [False, True])
def test_outputs_match_pytorch(per_channel):
    eq, tq = _pair(per_channel, bidirectional=True)
    x = np.random.default_rng(6).standard_normal((9, 2, 6)).astype(np.float32)
    np.testing.assert_allclose(_outputs(eq, ember, x), _outputs(tq, torch, x), atol=1e-4)


@pytest.mark.parametrize("weights_only", [True, False])
def test_pytorch_checkpoint_loads_into_ember(weights_only):
    eq, tq = _pair(bidirectional=True)
    ember.manual_seed(5)  # a different float model: loading must replace every weight
    fresh = quantize_dynamic(_model(ember, True), {nn.Linear, nn.LSTM, nn.GRU})
    buffer = io.BytesIO()
    torch.save(tq.state_dict(), buffer)
    buffer.seek(0)
    fresh.load_state_dict(ember.load(buffer, weights_only=weights_only))
    x = np.random.default_rng(3).standard_normal((7, 2, 6)).astype(np.float32)
    np.testing.assert_array_equal(_outputs(fresh, ember, x), _outputs(eq, ember, x))
    np.testing.assert_allclose(_outputs(fresh, ember, x), _outputs(tq, torch, x), atol=1e-4)


def test_ember_checkpoint_loads_into_pytorch():
    eq, tq = _pair(bidirectional=True)
    torch.manual_seed(5)
    fresh = torch.ao.quantization.quantize_dynamic(
        _model(torch, True), {torch.nn.Linear, torch.nn.LSTM, torch.nn.GRU}
    )
    buffer = io.BytesIO()
    ember.save(eq.state_dict(), buffer)
    buffer.seek(0)
    fresh.load_state_dict(torch.load(buffer, weights_only=False))
    x = np.random.default_rng(3).standard_normal((7, 2, 6)).astype(np.float32)
    np.testing.assert_array_equal(_outputs(fresh, torch, x), _outputs(tq, torch, x))


def _round_trip(obj, **load_args):
    buffer = io.BytesIO()
    ember.save(obj, buffer)
    buffer.seek(0)
    return ember.load(buffer, **load_args)


def _exactly_equal(a, b):
    np.testing.assert_array_equal(a.int_repr().numpy(), b.int_repr().numpy())
    assert a.dtype == b.dtype and a.qscheme() is b.qscheme()
    if a.qscheme() is ember.per_tensor_affine:
        assert (a.q_scale(), a.q_zero_point()) == (b.q_scale(), b.q_zero_point())
    else:
        np.testing.assert_array_equal(
            a.q_per_channel_scales().numpy(), b.q_per_channel_scales().numpy()
        )
        np.testing.assert_array_equal(
            a.q_per_channel_zero_points().numpy(), b.q_per_channel_zero_points().numpy()
        )
        assert a.q_per_channel_axis() == b.q_per_channel_axis()


def test_quantized_tensors_round_trip_exactly_and_read_in_pytorch():
    x = np.random.default_rng(4).standard_normal((3, 4, 5)).astype(np.float32)
    tensors = {
        "per_tensor": quantize_per_tensor(ember.tensor(x), 0.037, 5, ember.quint8),
        "qint32": quantize_per_tensor(ember.tensor(x), 1e-3, -7, ember.qint32),
        "per_channel": quantize_per_channel(
            ember.tensor(x), np.array([0.01, 0.2, 0.03, 0.004]), np.array([0, 3, -2, 1]), 1,
            ember.qint8,
        ),
    }  # fmt: skip
    back = _round_trip(tensors)
    for name, tensor in tensors.items():
        _exactly_equal(back[name], tensor)
    buffer = io.BytesIO()
    ember.save(tensors, buffer)
    buffer.seek(0)
    theirs = torch.load(buffer, weights_only=True)
    for name, tensor in tensors.items():
        _same_value(tensor, theirs[name])


def _identical(a, b):
    """Two of ember's state dict values, exactly equal (recursively)."""
    assert type(a) is type(b)
    if type(a).__name__ == "ScriptObject":
        (body_a, name_a), (body_b, name_b) = a.__getstate__(), b.__getstate__()
        assert name_a == name_b
        _identical(body_a, body_b)
    elif isinstance(a, tuple | list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _identical(x, y)
    elif isinstance(a, ember.Tensor):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    elif isinstance(a, QuantizedTensor):
        _exactly_equal(a, b)
    else:
        assert a == b


def test_whole_quantized_state_dict_round_trips_exactly():
    eq, _ = _pair(per_channel=False, bidirectional=True)
    state = eq.state_dict()
    back = _round_trip(state)
    assert list(back) == list(state)
    for key in state:
        _identical(back[key], state[key])
    fresh = quantize_dynamic(_model(ember, True), {nn.Linear, nn.LSTM, nn.GRU})
    fresh.load_state_dict(back)
    x = np.random.default_rng(8).standard_normal((4, 3, 6)).astype(np.float32)
    np.testing.assert_array_equal(_outputs(fresh, ember, x), _outputs(eq, ember, x))


def test_loading_refuses_bad_packed_parameters():
    eq, tq = _pair()
    state = eq.state_dict()
    key = "rnn._all_weight_values.0.param"
    bad = dict(state)
    bad[key] = state["rnn._all_weight_values.1.param"]  # layer 1's input weight is 5 wide
    with pytest.raises(RuntimeError, match="size mismatch"):
        eq.load_state_dict(bad)
    weight, bias = state["fc._packed_params._packed_params"]
    bad = dict(state)
    bad["fc._packed_params._packed_params"] = (weight, ember.zeros(7))
    with pytest.raises(RuntimeError, match=r"bias must be a tensor of shape \(3,\)"):
        eq.load_state_dict(bad)
    bad["fc._packed_params._packed_params"] = (weight.dequantize(), bias)
    with pytest.raises(RuntimeError, match="quantized to qint8"):
        eq.load_state_dict(bad)
    wider = quantize_per_tensor(ember.randn(3, 6), 0.1, 0, ember.qint8)
    bad["fc._packed_params._packed_params"] = (wider, bias)
    with pytest.raises(RuntimeError, match=r"size mismatch .* \(3, 6\)"):
        eq.load_state_dict(bad)
    assert list(bad) == list(state)  # loading reads the state dict, it does not empty it
    with pytest.raises(RuntimeError, match=r"must have shape \(3, 5\)"):
        eq.fc.set_weight_bias(wider, bias)


def test_loading_admits_only_quantized_packed_parameters():
    eq, _ = _pair()
    state = eq.state_dict()
    forged = state["rnn._all_weight_values.0.param"]
    forged._class = "__torch__.torch.classes.evil.Payload"
    buffer = io.BytesIO()
    ember.save({"param": forged}, buffer)
    for weights_only in (True, False):
        buffer.seek(0)
        with pytest.raises(CheckpointError, match="evil.Payload"):
            ember.load(buffer, weights_only=weights_only)


def test_loading_refuses_malformed_quantized_tensors():
    scales = ember.tensor([0.1, 0.2])
    zero_points = ember.tensor([0, 0])
    tensor = quantize_per_channel(ember.randn(3, 2), scales, zero_points, 1, ember.qint8)
    tensor._axis = 0  # three rows, two scales
    buffer = io.BytesIO()
    ember.save(tensor, buffer)
    buffer.seek(0)
    with pytest.raises(CheckpointError, match="quantizer parameters"):
        ember.load(buffer)


def test_quantized_models_copy_and_pickle_whole():
    eq, _ = _pair(bidirectional=True)
    x = np.random.default_rng(9).standard_normal((4, 2, 6)).astype(np.float32)
    expected = _outputs(eq, ember, x)
    clone = copy.deepcopy(eq)
    np.testing.assert_array_equal(_outputs(clone, ember, x), expected)
    layers = _round_trip(nn.ModuleDict(dict(eq.named_children())), weights_only=False)
    for name, layer in layers.items():  # the layers themselves, pickled whole
        setattr(clone, name, layer)
    np.testing.assert_array_equal(_outputs(clone, ember, x), expected)


def test_layers_built_directly_have_pytorchs_surface():
    ours, theirs = ember.ao.nn.quantized.dynamic, torch.ao.nn.quantized.dynamic
    for kind, args in (("LSTM", (6, 5, 2)), ("GRU", (6, 4)), ("Linear", (3, 2))):
        kwargs = {} if kind == "Linear" else {"batch_first": True, "dropout": 0.25}
        e, t = getattr(ours, kind)(*args, **kwargs), getattr(theirs, kind)(*args, **kwargs)
        assert repr(e).replace("ember.", "torch.") == repr(t)
        assert list(e.state_dict()) == list(t.state_dict())
    lstm = ours.LSTM(6, 5, 2)
    out, (h, c) = lstm(ember.randn(3, 2, 6))
    assert out.shape == (3, 2, 5) and h.shape == c.shape == (2, 2, 5)


def test_a_fresh_process_loads_quantized_checkpoints(tmp_path):
    """``import ember`` alone makes quantized tensors loadable."""
    path = tmp_path / "quantized.pt"
    scales, zero_points = torch.tensor([0.1, 0.2]), torch.tensor([0, 3])
    weight = torch.quantize_per_channel(torch.randn(2, 3), scales, zero_points, 0, torch.qint8)
    torch.save({"weight": weight}, path)
    script = (
        "import json, sys, ember; w = ember.load(sys.argv[1])['weight']; "
        "print(json.dumps([type(w).__name__, w.int_repr().numpy().tolist(), "
        "w.q_per_channel_zero_points().numpy().tolist(), w.q_per_channel_axis()]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, check=True
    )
    kind, values, zeros, axis = json.loads(out.stdout.strip().splitlines()[-1])
    assert kind == "QuantizedTensor" and axis == 0 and zeros == [0, 3]
    assert values == weight.int_repr().tolist()
