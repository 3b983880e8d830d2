"""Linear, activations, dropout, embedding and losses against torch with identical weights."""

import numpy as np
import pytest
import torch

import ember
from tests.nn.helpers import compare_modules

rng = np.random.default_rng(0)


def both(name, *args, **kwargs):
    return getattr(torch.nn, name)(*args, **kwargs), getattr(ember.nn, name)(*args, **kwargs)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(dtype, bias):
    t, e = both("Linear", 5, 3, bias=bias)
    compare_modules(t, e, [rng.standard_normal((4, 2, 5))], dtype, rtol=1e-5, atol=1e-6)
    assert repr(t) == repr(e)


def test_bilinear():
    t, e = both("Bilinear", 3, 4, 2)
    compare_modules(t, e, [rng.standard_normal((5, 3)), rng.standard_normal((5, 4))])


ACTIVATIONS = [
    ("ReLU", ()), ("ReLU6", ()), ("LeakyReLU", (0.2,)), ("ELU", (0.7,)), ("SELU", ()),
    ("CELU", (1.3,)), ("GELU", ()), ("GELU", ("tanh",)), ("SiLU", ()), ("Mish", ()),
    ("Softplus", (2.0, 5.0)), ("Softsign", ()), ("Hardtanh", (-0.5, 0.7)), ("Hardsigmoid", ()),
    ("Hardswish", ()), ("Sigmoid", ()), ("Tanh", ()), ("LogSigmoid", ()), ("Tanhshrink", ()),
    ("Softshrink", (0.3,)), ("Hardshrink", (0.3,)), ("Threshold", (0.1, -2.0)), ("PReLU", ()),
    ("GLU", ()), ("Softmax", (1,)), ("LogSoftmax", (1,)), ("Softmin", (0,)),
]  # fmt: skip


@pytest.mark.parametrize("name,args", ACTIVATIONS, ids=[f"{n}{a}" for n, a in ACTIVATIONS])
def test_activation(name, args):
    t, e = both(name, *args)
    x = rng.standard_normal((3, 4, 6)) * 2
    x[0, 0, :3] = [0.3001, -0.3001, 0.1001]  # near kinks, but not on them
    compare_modules(t, e, [x])
    assert repr(t) == repr(e)


def test_embedding_with_padding_and_repeats():
    t, e = both("Embedding", 7, 3, padding_idx=2)
    idx = np.array([[1, 2, 1], [6, 0, 1]])
    compare_modules(t, e, [idx])
    assert repr(t) == repr(e)


def test_dropout_scales_kept_elements_and_is_identity_in_eval():
    d = ember.nn.Dropout(0.25)
    x = ember.ones(2000)
    y = d(x).numpy()
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    assert 0.65 < kept.mean() < 0.85
    d.eval()
    assert d(x) is x


LOSSES = [
    ("MSELoss", {}, "float"), ("L1Loss", {"reduction": "sum"}, "float"),
    ("SmoothL1Loss", {"beta": 0.5}, "float"), ("HuberLoss", {"delta": 0.7}, "float"),
    ("CrossEntropyLoss", {}, "class"), ("CrossEntropyLoss", {"label_smoothing": 0.2}, "class"),
    ("CrossEntropyLoss", {"reduction": "none"}, "class"), ("CrossEntropyLoss", {}, "prob"),
    ("NLLLoss", {}, "class"), ("BCEWithLogitsLoss", {}, "binary"),
    ("BCELoss", {}, "prob01"), ("SoftMarginLoss", {}, "sign"),
    ("MultiLabelSoftMarginLoss", {}, "binary"), ("KLDivLoss", {"reduction": "batchmean"}, "kl"),
    ("MultiMarginLoss", {}, "class"), ("PoissonNLLLoss", {}, "pos"),
]  # fmt: skip


def _loss_inputs(kind):
    x = rng.standard_normal((6, 5))
    if kind == "float":
        return [x, rng.standard_normal((6, 5))]
    if kind == "class":
        return [x, rng.integers(0, 5, 6)]
    if kind == "prob":
        p = rng.random((6, 5))
        return [x, p / p.sum(1, keepdims=True)]
    if kind == "binary":
        return [x, (rng.random((6, 5)) > 0.5).astype(np.float64)]
    if kind == "prob01":
        return [1 / (1 + np.exp(-x)), rng.random((6, 5))]
    if kind == "sign":
        return [x, np.sign(rng.standard_normal((6, 5)))]
    if kind == "kl":
        p = rng.random((6, 5))
        return [np.log(np.exp(x) / np.exp(x).sum(1, keepdims=True)), p / p.sum(1, keepdims=True)]
    if kind == "pos":
        return [x, rng.poisson(2.0, (6, 5)).astype(np.float64)]
    raise ValueError(kind)


@pytest.mark.parametrize("name,kwargs,kind", LOSSES, ids=[f"{n}-{k}" for n, _, k in LOSSES])
def test_loss(name, kwargs, kind):
    t, e = both(name, **kwargs)
    arrays = _loss_inputs(kind)
    if kind == "prob01" or kind == "prob":
        arrays[1] = arrays[1].astype(np.float64)
    compare_modules(t, e, arrays, constant_inputs=(1,))


def test_cross_entropy_weight_ignore_index_and_spatial():
    w = rng.random(4)
    t = torch.nn.CrossEntropyLoss(weight=torch.tensor(w), ignore_index=1)
    e = ember.nn.CrossEntropyLoss(weight=ember.tensor(w), ignore_index=1)
    compare_modules(t, e, [rng.standard_normal((3, 4, 2, 2)), rng.integers(0, 4, (3, 2, 2))])


def test_cross_entropy_errors_name_the_problem():
    x = ember.randn(4, 3)
    with pytest.raises(IndexError, match="out of bounds"):
        ember.nn.functional.cross_entropy(x, ember.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="batch_size"):
        ember.nn.functional.cross_entropy(x, ember.tensor([0, 1]))
