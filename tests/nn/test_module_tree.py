"""Nested models: state_dict keys, order and shapes, module names and repr equal torch's."""

import numpy as np
import pytest
import torch

import ember


def resnet(lib):
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
                )

        def forward(self, x):
            skip = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)) + skip)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
            self.layers = nn.ModuleList([Block(8, 8, 1), Block(8, 16, 2)])
            self.pool = nn.AdaptiveAvgPool2d((1, 1))
            self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.1), nn.Linear(16, 10))

        def forward(self, x):
            x = self.stem(x)
            for layer in self.layers:
                x = layer(x)
            return self.head(self.pool(x))

    return Net(), (2, 3, 12, 12), "float"


def recurrent(lib):
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(20, 6, padding_idx=0)
            self.bag = nn.EmbeddingBag(20, 4, mode="max")
            self.lstm = nn.LSTM(6, 5, num_layers=2, bidirectional=True, batch_first=True)
            self.gru = nn.GRU(10, 3)
            self.heads = nn.ModuleDict({"a": nn.Linear(7, 2), "b": nn.Bilinear(3, 4, 2)})

        def forward(self, idx):
            seq, _ = self.lstm(self.embed(idx))
            out, h = self.gru(seq.transpose(0, 1))
            bag = self.bag(idx)
            return self.heads["a"](lib.cat([h[0], bag], 1)), self.heads["b"](h[0], bag)

    return Net(), (3, 7), "index"


def transformer(lib):
    nn = lib.nn
    return (
        nn.Transformer(
            d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
            dim_feedforward=16, dropout=0.0, batch_first=True,
        ),
        None,
        "transformer",
    )  # fmt: skip


def volumes(lib):
    nn = lib.nn
    net = nn.Sequential(
        nn.Conv3d(2, 4, 3, padding=1, padding_mode="replicate"),
        nn.ConvTranspose3d(4, 2, 2, stride=2),
        nn.Sequential(nn.Flatten(2), nn.AdaptiveMaxPool1d(5)),
    )
    return net, (1, 2, 3, 4, 4), "float"


BUILDERS = [resnet, recurrent, transformer, volumes]


def _inputs(kind, shape, rng):
    if kind == "float":
        return (rng.standard_normal(shape).astype(np.float32),)
    if kind == "index":
        return (rng.integers(0, 20, shape),)
    return (
        rng.standard_normal((2, 5, 8)).astype(np.float32),
        rng.standard_normal((2, 4, 8)).astype(np.float32),
    )


@pytest.mark.parametrize("builder", BUILDERS, ids=lambda b: b.__name__)
def test_tree_keys_shapes_names_and_repr(builder):
    t, shape, kind = builder(torch)
    e, _, _ = builder(ember)
    t_sd, e_sd = t.state_dict(), e.state_dict()
    assert [(k, tuple(v.shape)) for k, v in e_sd.items()] == [
        (k, tuple(v.shape)) for k, v in t_sd.items()
    ]
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert repr(e) == repr(t)


@pytest.mark.parametrize("builder", BUILDERS, ids=lambda b: b.__name__)
def test_tree_outputs_agree_after_loading_torch_weights(builder):
    t, shape, kind = builder(torch)
    e, _, _ = builder(ember)
    e.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    t.eval()
    e.eval()
    arrays = _inputs(kind, shape, np.random.default_rng(0))
    t_out = t(*[torch.tensor(a) for a in arrays])
    e_out = e(*[ember.tensor(a) for a in arrays])
    t_out = t_out if isinstance(t_out, tuple) else (t_out,)
    e_out = e_out if isinstance(e_out, tuple) else (e_out,)
    for a, b in zip(e_out, t_out):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-5)
