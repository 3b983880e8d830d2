"""Dynamic int8 quantization against PyTorch's quantize_dynamic on the same weights."""

import numpy as np
import pytest
import torch

import ember
from ember import nn
from ember.ao.quantization import (
    per_channel_dynamic_qconfig,
    quantize_dynamic,
    quantize_per_channel,
    quantize_per_tensor,
)
from ember.backends import registry


def _pair(seed=0):
    rng = np.random.default_rng(seed)
    sizes = [(48, 32), (48, 48), (10, 48)]
    state = {}
    for i, (o, k) in zip((0, 2, 4), sizes):
        state[f"{i}.weight"] = (rng.standard_normal((o, k)) * 0.2).astype(np.float32)
        state[f"{i}.bias"] = (rng.standard_normal(o) * 0.1).astype(np.float32)

    def build(lib):
        m = lib.nn.Sequential(
            lib.nn.Linear(32, 48), lib.nn.ReLU(), lib.nn.Linear(48, 48), lib.nn.Tanh(),
            lib.nn.Linear(48, 10),
        )  # fmt: skip
        m.load_state_dict({k: lib.tensor(v) for k, v in state.items()})
        return m.eval()

    return build(torch), build(ember)


@pytest.mark.parametrize("per_channel", [False, True])
def test_same_integer_weights_and_close_outputs(per_channel):
    t, e = _pair()
    if per_channel:
        tq = torch.ao.quantization.quantize_dynamic(
            t, {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig}
        )
        eq = quantize_dynamic(e, {nn.Linear: per_channel_dynamic_qconfig})
    else:
        tq = torch.ao.quantization.quantize_dynamic(t, {torch.nn.Linear}, dtype=torch.qint8)
        eq = quantize_dynamic(e, {nn.Linear}, dtype=ember.qint8)
    for i in (0, 2, 4):
        tw, ew = tq[i].weight(), eq[i].weight()
        np.testing.assert_array_equal(ew.int_repr().numpy(), tw.int_repr().numpy())
        if per_channel:
            np.testing.assert_allclose(
                ew.q_per_channel_scales().numpy(), tw.q_per_channel_scales().numpy(), rtol=1e-6
            )
        else:
            assert ew.q_scale() == pytest.approx(tw.q_scale(), rel=1e-6)
    x = np.random.default_rng(1).standard_normal((16, 32)).astype(np.float32)
    with torch.no_grad():
        expected, float_out = tq(torch.tensor(x)).numpy(), t(torch.tensor(x)).numpy()
    got = eq(ember.tensor(x)).numpy()
    # both differ from float by the quantization error; from each other by much less
    assert np.abs(got - expected).max() < 0.25 * np.abs(expected - float_out).max() + 1e-4
    assert np.abs(got - float_out).max() < 0.05 * np.abs(float_out).max()


def test_the_int8_kernel_and_the_numpy_fallback_agree():
    _, e = _pair(2)
    x = ember.randn(5, 7, 32)
    q = quantize_dynamic(e, {nn.Linear})
    fast = q(x).numpy()
    used = registry.last_used("int8_linear_pack")
    with registry.only("numpy"):
        slow = quantize_dynamic(e, {nn.Linear})(x).numpy()
        assert registry.last_used("int8_linear_pack") == "numpy"
    np.testing.assert_allclose(fast, slow, atol=1e-5)
    assert fast.shape == (5, 7, 10) and used in registry.registered_backends()


def test_module_surface_matches_pytorch():
    t, e = _pair()
    tq = torch.ao.quantization.quantize_dynamic(t, {torch.nn.Linear})
    eq = quantize_dynamic(e, {nn.Linear})
    assert sorted(eq.state_dict()) == sorted(tq.state_dict())
    assert repr(eq[0]).replace("ember.", "torch.") == repr(tq[0])
    assert isinstance(e[0], nn.Linear)  # the float model is untouched unless inplace=True
    same = quantize_dynamic(e, {nn.Linear}, inplace=True)
    assert (
        same is e
        and type(e[0]).__name__ == "Linear"
        and e[0]._get_name() == "DynamicQuantizedLinear"
    )
    loaded = quantize_dynamic(_pair(3)[1], {nn.Linear})
    loaded.load_state_dict(eq.state_dict())
    x = ember.randn(4, 32)
    np.testing.assert_array_equal(loaded(x).numpy(), eq(x).numpy())


def test_quantized_tensors_match_pytorch():
    x = np.random.default_rng(4).standard_normal((3, 5)).astype(np.float32)
    tq = torch.quantize_per_tensor(torch.tensor(x), 0.05, 3, torch.quint8)
    eq = quantize_per_tensor(ember.tensor(x), 0.05, 3, ember.quint8)
    np.testing.assert_array_equal(eq.int_repr().numpy(), tq.int_repr().numpy())
    np.testing.assert_allclose(eq.dequantize().numpy(), tq.dequantize().numpy(), rtol=1e-6)
    assert (eq.q_scale(), eq.q_zero_point()) == (tq.q_scale(), tq.q_zero_point())
    scales, zps = np.array([0.1, 0.02, 0.05]), np.array([0, 1, -2])
    tc = torch.quantize_per_channel(
        torch.tensor(x), torch.tensor(scales), torch.tensor(zps), 0, torch.qint8
    )
    ec = quantize_per_channel(ember.tensor(x), scales, zps, 0, ember.qint8)
    np.testing.assert_array_equal(ec.int_repr().numpy(), tc.int_repr().numpy())
    np.testing.assert_allclose(ec.dequantize().numpy(), tc.dequantize().numpy(), rtol=1e-6)


def test_errors():
    _, e = _pair()
    with pytest.raises(NotImplementedError, match="RNNCell"):
        quantize_dynamic(e, {nn.RNNCell})
    with pytest.raises(NotImplementedError, match="qint8"):
        quantize_dynamic(e, {nn.Linear}, dtype=ember.float16)
    q = quantize_dynamic(e, {nn.Linear})
    with pytest.raises(RuntimeError, match="in_features=32"):
        q(ember.randn(2, 31))
    with pytest.raises(RuntimeError, match="qint8"):
        quantize_per_tensor(ember.randn(2), 0.1, 0, ember.float32)


def _recurrent_pair(lib, kind, layers, batch_first, bidirectional):
    class Holder(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = getattr(lib.nn, kind)(
                16, 24, layers, batch_first=batch_first, bidirectional=bidirectional
            )

        def forward(self, x, h=None):
            return self.rnn(x, h)

    return Holder().eval()


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("layers,batch_first,bidirectional", [(1, False, False), (2, True, True)])
def test_recurrent_layers_match_pytorch_quantized(kind, layers, batch_first, bidirectional):
    ember.manual_seed(0)
    e = _recurrent_pair(ember, kind, layers, batch_first, bidirectional)
    t = _recurrent_pair(torch, kind, layers, batch_first, bidirectional)
    t.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in e.state_dict().items()})
    eq = quantize_dynamic(e, {getattr(nn, kind)})
    tq = torch.ao.quantization.quantize_dynamic(t, {getattr(torch.nn, kind)})
    assert repr(eq.rnn) == repr(tq.rnn)
    shape = (3, 5, 16) if batch_first else (5, 3, 16)
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    dirs = 2 if bidirectional else 1
    h0 = np.random.default_rng(2).standard_normal((layers * dirs, 3, 24)).astype(np.float32)
    state = (torch.tensor(h0), torch.tensor(h0 / 2)) if kind == "LSTM" else torch.tensor(h0)
    if kind == "LSTM":
        ours = eq(ember.tensor(x), (ember.tensor(h0), ember.tensor(h0 / 2)))
        theirs = tq(torch.tensor(x), state)
        flat_ours, flat_theirs = [ours[0], *ours[1]], [theirs[0], *theirs[1]]
    else:
        ours, theirs = eq(ember.tensor(x), ember.tensor(h0)), tq(torch.tensor(x), torch.tensor(h0))
        flat_ours, flat_theirs = list(ours), list(theirs)
    with torch.no_grad():
        float_out = t(torch.tensor(x), state)[0].numpy()
    for o, th in zip(flat_ours, flat_theirs):
        np.testing.assert_allclose(o.numpy(), th.detach().numpy(), atol=1e-4)
    assert np.abs(flat_ours[0].numpy() - float_out).max() < 0.05


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("batch", [1, 40])
def test_recurrent_layers_agree_with_the_numpy_fallback(kind, batch):
    ember.manual_seed(3)
    model = _recurrent_pair(ember, kind, 2, False, True)
    x = ember.randn(6, batch, 16)
    fast = quantize_dynamic(model, {getattr(nn, kind)})(x)[0].numpy()
    with registry.only("numpy"):
        slow = quantize_dynamic(model, {getattr(nn, kind)})(x)[0].numpy()
        assert registry.last_used("int8_linear_pack") == "numpy"
    np.testing.assert_allclose(fast, slow, atol=1e-5)


@pytest.mark.parametrize("bad", [float("inf"), float("nan")])
def test_non_finite_inputs_are_refused(bad):
    _, e = _pair()
    q = quantize_dynamic(e, {nn.Linear})
    x = ember.randn(2, 32)
    x[1, 3] = bad
    with pytest.raises(RuntimeError, match="inf or nan"):
        q(x)
    ember.manual_seed(0)
    lstm = quantize_dynamic(_recurrent_pair(ember, "LSTM", 1, False, False), {nn.LSTM})
    seq = ember.randn(3, 2, 16)
    seq[2, 0, 0] = bad
    with pytest.raises(RuntimeError, match="inf or nan"):
        lstm(seq)
