"""ember.onnx.export: the file passes onnx's checker and onnxruntime gives ember's outputs."""

import io

import numpy as np
import pytest

import ember
from ember import nn
from ember.nn import functional as F

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _run(model, *example, dynamic=None, atol=1e-5, inputs=None, **export_kwargs):
    """Export ``model`` on ``example`` and compare onnxruntime with ember on ``inputs``."""
    model.eval()
    buffer = io.BytesIO()
    names = [f"x{i}" for i in range(len(example))]
    axes = {n: {0: "batch"} for n in names} if dynamic else None
    proto = ember.onnx.export(
        model, example, buffer, input_names=names, dynamic_axes=axes, **export_kwargs
    )
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    inputs = inputs or example
    got = session.run(None, {n: x.numpy() for n, x in zip(names, inputs)})
    with ember.no_grad():
        expected = model(*inputs)
    expected = expected if isinstance(expected, tuple) else (expected,)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e.numpy(), atol=atol, rtol=1e-5)
    return proto


def test_mlp_with_a_dynamic_batch():
    ember.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Dropout(0.2), nn.Linear(32, 5))
    proto = _run(mlp, ember.randn(2, 20), dynamic=True, inputs=[ember.randn(7, 20)])
    assert {t.name for t in proto.graph.initializer} >= {"0.weight", "0.bias", "3.weight"}
    assert proto.opset_import[0].version >= 17


def test_the_cnn_of_ember_train_and_resnet18():
    from ember.vision.models import resnet18, simple_cnn

    ember.manual_seed(0)
    _run(simple_cnn(), ember.randn(2, 1, 28, 28), dynamic=True, inputs=[ember.randn(7, 1, 28, 28)])
    net = resnet18(num_classes=10)
    for m in net.modules():  # make the batch norms do something in eval mode
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    _run(
        net, ember.randn(2, 3, 32, 32), dynamic=True, inputs=[ember.randn(3, 3, 32, 32)], atol=1e-4
    )


ACTIVATIONS = [
    nn.ReLU(), nn.ReLU6(), nn.Sigmoid(), nn.Tanh(), nn.GELU(), nn.GELU(approximate="tanh"),
    nn.SiLU(), nn.Mish(), nn.LeakyReLU(0.2), nn.ELU(0.7), nn.SELU(), nn.CELU(1.3),
    nn.Softplus(), nn.Softplus(beta=2.0), nn.Softsign(), nn.Hardtanh(-0.5, 0.8),
    nn.Hardsigmoid(), nn.Hardswish(), nn.LogSigmoid(), nn.Tanhshrink(), nn.Softmax(dim=1),
    nn.LogSoftmax(dim=-1), nn.GLU(dim=1), nn.Threshold(0.1, -2.0), nn.PReLU(6), nn.PReLU(),
]  # fmt: skip


@pytest.mark.parametrize("layer", ACTIVATIONS, ids=lambda m: repr(m))
def test_every_activation(layer):
    ember.manual_seed(1)
    _run(nn.Sequential(nn.Linear(4, 6), layer), ember.randn(3, 4) * 3)


class Functional(nn.Module):
    """Reshapes, slicing, arithmetic and functions on traced values."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 4 * 4 + 4, 6)

    def forward(self, x):
        h = F.relu(self.conv(x))
        h = h[:, :, ::2, ::2]
        flat = h.reshape(h.size(0), -1)
        pooled = h.mean(dim=(2, 3))
        both = ember.cat([flat, pooled * 2.0 - 1.0], dim=1)
        out = self.fc(both)
        a, b = out.chunk(2, dim=1)
        return ember.sigmoid(a) + b.tanh() / 2, out.transpose(0, 1).contiguous()[1:3]


def test_functional_operations_and_several_outputs():
    ember.manual_seed(2)
    _run(Functional(), ember.randn(2, 3, 8, 8), dynamic=True, inputs=[ember.randn(5, 3, 8, 8)])


@pytest.mark.parametrize(
    "layer,shape",
    [
        (nn.Conv1d(3, 4, 3, padding="same", padding_mode="reflect"), (2, 3, 10)),
        (nn.Conv2d(4, 6, 3, stride=2, dilation=2, groups=2, padding=2), (2, 4, 13, 13)),
        (nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1, output_padding=1), (2, 4, 5, 5)),
        (nn.MaxPool2d(3, stride=2, ceil_mode=True), (2, 3, 9, 9)),
        (nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False), (2, 3, 9, 9)),
        (nn.AdaptiveAvgPool2d((2, 3)), (2, 3, 8, 9)),
        (nn.BatchNorm1d(5), (4, 5)),
        (nn.LayerNorm([6]), (2, 3, 6)),
        (nn.GroupNorm(2, 4), (2, 4, 3, 3)),
        (nn.Flatten(0, 1), (2, 3, 4)),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else str(v),
)
def test_layers(layer, shape):
    ember.manual_seed(3)
    _run(nn.Sequential(layer), ember.randn(*shape))


def test_embedding():
    ember.manual_seed(4)
    model = nn.Sequential(nn.Embedding(20, 5), nn.Flatten(), nn.Linear(15, 2))
    tokens = ember.randint(0, 20, (4, 3))
    _run(model, tokens, dynamic=True, inputs=[ember.randint(0, 20, (9, 3))])


def test_unsupported_operations_name_the_layer():
    class WithUnsupported(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(3, 3), nn.Bilinear(3, 3, 2))

        def forward(self, x):
            return self.body[1](self.body[0](x), x)

    with pytest.raises(ember.onnx.UnsupportedOperatorError, match=r"Bilinear.*body\.1"):
        ember.onnx.export(WithUnsupported(), (ember.randn(2, 3),), io.BytesIO())


def test_writes_a_file_and_refuses_bad_arguments(tmp_path, monkeypatch):
    model = nn.Linear(3, 2)
    path = tmp_path / "m.onnx"
    ember.onnx.export(model, (ember.randn(1, 3),), str(path))
    onnx.checker.check_model(onnx.load(str(path)))
    with pytest.raises(ValueError, match="opset"):
        ember.onnx.export(model, (ember.randn(1, 3),), io.BytesIO(), opset_version=11)
    with pytest.raises(TypeError, match="positional argument"):
        ember.onnx.export(model, (ember.randn(1, 3), ember.randn(1, 3)), io.BytesIO())
    monkeypatch.setitem(__import__("sys").modules, "onnx", None)
    with pytest.raises(ImportError, match="pip install onnx"):
        ember.onnx.export(model, (ember.randn(1, 3),), io.BytesIO())


class LanguageModel(nn.Module):
    """Embedding, a recurrent layer or a Transformer encoder, and a decoder to the vocabulary."""

    def __init__(self, kind, vocab=30, width=16, layers=2):
        super().__init__()
        self.kind = kind
        self.embed = nn.Embedding(vocab, width)
        if kind == "transformer":
            layer = nn.TransformerEncoderLayer(width, 2, 32, dropout=0.1)
            self.body = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.register_buffer("offset", ember.randn(1, 1, width) * 0.1)
        else:
            self.body = getattr(nn, kind)(width, width, layers, dropout=0.2)
        self.decoder = nn.Linear(width, vocab)

    def forward(self, tokens, hidden=None):
        x = self.embed(tokens)
        if self.kind == "transformer":
            x = x * 4.0 + self.offset
            return F.log_softmax(self.decoder(self.body(x)), dim=-1)
        out, hidden = self.body(x, hidden)
        return self.decoder(out), hidden


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_recurrent_language_models(kind):
    ember.manual_seed(5)
    model = LanguageModel(kind)
    tokens = ember.randint(0, 30, (7, 2))
    shape = (2, 2, 16)
    hidden = (ember.randn(*shape), ember.randn(*shape)) if kind == "LSTM" else ember.randn(*shape)
    args = (tokens, hidden)
    buffer = io.BytesIO()
    ember.onnx.export(model.eval(), args, buffer)
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    feeds = [tokens] + (list(hidden) if kind == "LSTM" else [hidden])
    names = [i.name for i in session.get_inputs()]
    got = session.run(None, {n: x.numpy() for n, x in zip(names, feeds)})
    with ember.no_grad():
        out, state = model(*args)
    expected = [out] + (list(state) if kind == "LSTM" else [state])
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e.numpy(), atol=1e-5)


def test_transformer_language_model_and_attention():
    ember.manual_seed(6)
    _run(LanguageModel("transformer"), ember.randint(0, 30, (9, 3)))

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

        def forward(self, x):
            return self.attn(x, x, x)

    _run(SelfAttention(), ember.randn(3, 5, 8), dynamic=True, inputs=[ember.randn(4, 5, 8)])
    layer = nn.TransformerEncoderLayer(
        8, 2, 16, batch_first=True, norm_first=True, activation="gelu"
    )
    _run(layer, ember.randn(2, 6, 8), dynamic=True, inputs=[ember.randn(5, 6, 8)])
