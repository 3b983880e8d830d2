"""Compiling transformer layers: TransformerEncoderLayer (its activation held as a function
attribute) and TransformerEncoder are captured as one graph, traced through down to their
attention, linear and norm layers. Compiled against ember eager (float64, to 1e-12) and
real PyTorch (float32), forward and every gradient."""

import numpy as np
import pytest
import torch

import ember


def _graph_of(compiled):
    """The one graph the compiled module captured (it must not have fallen back)."""
    callable_ = compiled.dynamo_ctx
    assert callable_.uncapturable is None, callable_.uncapturable
    (entry,) = callable_.cache.values()
    return entry.graph.graph


def _run(module, x):
    for p in module.parameters():
        p.grad = None
    x.grad = None
    out = module(x)
    (out * out).sum().backward()
    return [out.detach().numpy(), x.grad.numpy()] + [p.grad.numpy() for p in module.parameters()]


def _copy_parameters_from_torch(source, target):
    for p, q in zip(source.parameters(), target.parameters()):
        with ember.no_grad():
            q.copy_(ember.tensor(p.detach().numpy()))


def _called_functions(graph):
    return {getattr(n.target, "__name__", None) for n in graph.nodes if n.op == "call_function"}


@pytest.mark.parametrize("activation", ["gelu", "relu"])
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_captures_through_its_activation(activation, norm_first):
    ember.manual_seed(0)
    layer = ember.nn.TransformerEncoderLayer(
        16, 2, 32, dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first
    ).double()
    x = ember.randn(2, 5, 16, dtype=ember.float64, requires_grad=True)
    compiled = ember.compile(layer, fullgraph=True)
    _run(compiled, x)  # the capturing call
    got = _run(compiled, x)
    want = _run(layer, x)
    assert activation in _called_functions(_graph_of(compiled))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_nested_encoder_is_traced_through():
    class Net(ember.nn.Module):
        def __init__(self):
            super().__init__()
            layer = ember.nn.TransformerEncoderLayer(
                16, 2, 32, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
            )
            self.encoder = ember.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)

        def forward(self, x):
            return self.encoder(x).mean(1)

    ember.manual_seed(0)
    model = Net().double()
    x = ember.randn(2, 5, 16, dtype=ember.float64, requires_grad=True)
    compiled = ember.compile(model, fullgraph=True)
    _run(compiled, x)
    got = _run(compiled, x)
    want = _run(model, x)
    modules = {n.target for n in _graph_of(compiled).nodes if n.op == "call_module"}
    assert "encoder" not in modules and "encoder.layers.0.linear1" in modules
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_encoder_layer_against_torch():
    kwargs = dict(dropout=0.0, activation="gelu", batch_first=True)
    torch.manual_seed(0)
    reference = torch.nn.TransformerEncoderLayer(16, 2, 32, **kwargs)
    layer = ember.nn.TransformerEncoderLayer(16, 2, 32, **kwargs)
    _copy_parameters_from_torch(reference, layer)
    data = np.random.default_rng(1).standard_normal((2, 5, 16)).astype(np.float32)
    x = ember.tensor(data, requires_grad=True)
    compiled = ember.compile(layer, fullgraph=True)
    _run(compiled, x)
    got = _run(compiled, x)
    tx = torch.tensor(data, requires_grad=True)
    out = reference(tx)
    (out * out).sum().backward()
    want = [out.detach().numpy(), tx.grad.numpy()] + [
        p.grad.numpy() for p in reference.parameters()
    ]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)


def test_nested_decoder_is_traced_through():
    class Net(ember.nn.Module):
        def __init__(self):
            super().__init__()
            layer = ember.nn.TransformerDecoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
            self.decoder = ember.nn.TransformerDecoder(layer, 2)
            self.memory = ember.nn.Parameter(ember.randn(2, 5, 16))

        def forward(self, x):
            return self.decoder(x, self.memory)

    ember.manual_seed(0)
    model = Net().double()
    x = ember.randn(2, 4, 16, dtype=ember.float64, requires_grad=True)
    compiled = ember.compile(model, fullgraph=True)
    _run(compiled, x)
    got = _run(compiled, x)
    want = _run(model, x)
    modules = {n.target for n in _graph_of(compiled).nodes if n.op == "call_module"}
    assert "decoder" not in modules and "decoder.layers.1.multihead_attn" in modules
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
