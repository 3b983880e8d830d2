"""Channel-wise dropout against torch: warnings, errors, which elements share a draw, scaling."""

import warnings

import numpy as np
import pytest
import torch

import ember

SHAPES = [(40, 30), (30, 20, 8), (30, 8, 3, 8), (20, 4, 3, 3, 8), (40,)]


def run(lib, fn_name, shape, p=0.4, training=True, module=False):
    """Output on an all-ones input and the warnings raised, as (category name, message)."""
    x = lib.ones(*shape)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if module:
            layer = getattr(lib.nn, fn_name)(p)
            layer.train(training)
            out = layer(x)
        else:
            out = getattr(lib.nn.functional, fn_name)(x, p, training)
    found = [(w.category.__name__, str(w.message)) for w in caught]
    return out.detach().numpy(), found


def outcome(lib, *args, **kwargs):
    try:
        out, found = run(lib, *args, **kwargs)
    except RuntimeError as error:
        return "RuntimeError", str(error), None
    return "ok", found, out


def constant_axes(out):
    """Axes along which every output fiber is constant: the dimensions a draw is shared over."""
    return {a for a in range(out.ndim) if out.shape[a] > 1 and np.all(out == out.take([0], a))}


FUNCTIONS = ["dropout1d", "dropout2d", "dropout3d", "feature_alpha_dropout"]


@pytest.mark.parametrize("fn_name", FUNCTIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{len(s)}d")
@pytest.mark.parametrize("training", [True, False])
def test_warnings_errors_and_shared_draws_match_torch(fn_name, shape, training):
    t_kind, t_info, t_out = outcome(torch, fn_name, shape, training=training)
    e_kind, e_info, e_out = outcome(ember, fn_name, shape, training=training)
    assert e_kind == t_kind, e_info
    assert e_info == t_info
    if t_out is None:
        return
    assert e_out.shape == t_out.shape
    assert constant_axes(e_out) == constant_axes(t_out)
    np.testing.assert_allclose(np.unique(e_out), np.unique(t_out), rtol=1e-6)


@pytest.mark.parametrize("name", ["Dropout1d", "Dropout2d", "Dropout3d", "FeatureAlphaDropout"])
@pytest.mark.parametrize("shape", SHAPES[:4], ids=lambda s: f"{len(s)}d")
def test_modules_warn_and_share_draws_as_torch(name, shape):
    t_kind, t_info, t_out = outcome(torch, name, shape, module=True)
    e_kind, e_info, e_out = outcome(ember, name, shape, module=True)
    assert (e_kind, e_info) == (t_kind, t_info)
    if t_out is not None:
        assert constant_axes(e_out) == constant_axes(t_out)


def test_unbatched_dropout2d_input_from_an_rnn_trains():
    """A (batch, features) input, as a recurrent classifier feeds Dropout2d, warns and runs."""
    layer = ember.nn.Dropout2d(0.25)
    x = ember.randn(64, 10, requires_grad=True)
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
        out = layer(x)
    out.sum().backward()
    kept = out.detach().numpy() != 0
    np.testing.assert_allclose(x.grad.numpy(), np.where(kept, 1 / 0.75, 0.0), rtol=1e-6)


@pytest.mark.parametrize(
    "fn_name,shape,channels",
    [("dropout1d", (30, 40), 30), ("dropout2d", (20, 100, 3), 2000),
     ("dropout3d", (50, 2, 2, 2), 50), ("dropout2d", (40, 50, 4, 4), 2000)],
)  # fmt: skip
def test_drop_rate_and_scale(fn_name, shape, channels):
    p = 0.3
    out, _ = run(ember, fn_name, shape, p=p)
    values = np.unique(out)
    assert np.all(np.isclose(values, 0.0) | np.isclose(values, 1 / (1 - p), rtol=1e-6))
    dropped = np.mean(out == 0)
    assert abs(dropped - p) < 5 * np.sqrt(p * (1 - p) / channels)


def test_feature_alpha_dropout_keeps_mean_and_variance():
    x = ember.randn(4000, 64, 1)
    out = ember.nn.functional.feature_alpha_dropout(x, 0.2, training=True).numpy()
    assert abs(out.mean()) < 0.05 and abs(out.std() - 1) < 0.05
    assert constant_axes(out) == {2} or out.shape[2] == 1


@pytest.mark.parametrize("fn_name", ["dropout1d", "dropout2d", "dropout3d"])
def test_inplace_writes_into_the_input(fn_name):
    x = ember.ones(2, 3, 4, 5) if fn_name != "dropout1d" else ember.ones(2, 3, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = getattr(ember.nn.functional, fn_name)(x, 0.5, True, inplace=True)
    assert out is x


def test_invalid_probability():
    for lib in (torch, ember):
        with pytest.raises(ValueError, match="between 0 and 1"):
            lib.nn.functional.dropout2d(lib.ones(2, 3, 4), 1.5)
