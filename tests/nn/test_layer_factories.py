"""Layers build their parameters and buffers with ``device=`` and ``dtype=`` as PyTorch's do."""

import pytest
import torch

import ember

LAYERS = [
    ("Linear", (3, 4)),
    ("Bilinear", (2, 3, 4)),
    ("Conv1d", (2, 4, 3)),
    ("Conv2d", (2, 4, 3)),
    ("ConvTranspose3d", (2, 4, 3)),
    ("Embedding", (5, 3)),
    ("EmbeddingBag", (5, 3)),
    ("PReLU", (3,)),
    ("BatchNorm2d", (3,)),
    ("InstanceNorm1d", (3, 1e-5, 0.1, True, True)),
    ("LayerNorm", (4,)),
    ("GroupNorm", (2, 4)),
    ("RMSNorm", (4,)),
    ("MultiheadAttention", (4, 2)),
    ("RNN", (3, 4)),
    ("LSTM", (3, 4, 2)),
    ("GRUCell", (3, 4)),
    ("TransformerEncoderLayer", (4, 2, 8)),
    ("TransformerDecoderLayer", (4, 2, 8)),
]


def _dtypes(module):
    return {name: str(t.dtype).split(".")[-1] for name, t in module.state_dict().items()}


@pytest.mark.parametrize("name, args", LAYERS)
@pytest.mark.parametrize("dtype", ["float64", "float16", None])
def test_parameters_and_buffers_take_dtype_and_device_as_torch(name, args, dtype):
    made = [
        getattr(lib.nn, name)(*args, device="cpu", dtype=dtype and getattr(lib, dtype))
        for lib in (ember, torch)
    ]
    ours, theirs = (_dtypes(m) for m in made)
    assert ours == theirs
    assert all(str(t.device) == "cpu" for t in made[0].state_dict().values())


@pytest.mark.parametrize("name, args", LAYERS)
def test_an_unavailable_device_raises_naming_the_layer(name, args):
    with pytest.raises(AssertionError):
        torch.zeros(1, device="cuda")  # this torch is a CPU build, as ember has no GPU backend
    with pytest.raises(AssertionError, match=name):
        getattr(ember.nn, name)(*args, device="cuda")


def test_default_dtype_is_followed():
    ember.set_default_dtype(ember.float64)
    try:
        layer = ember.nn.Linear(2, 3)
        assert layer.weight.dtype == ember.float64 and layer.bias.dtype == ember.float64
    finally:
        ember.set_default_dtype(ember.float32)
