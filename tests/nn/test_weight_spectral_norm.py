"""nn.utils.weight_norm and spectral_norm against torch with identical parameters and buffers."""

import numpy as np
import pytest
import torch

import ember
from tests.nn.helpers import check_gradcheck, compare_modules

rng = np.random.default_rng(0)
pytestmark = pytest.mark.filterwarnings("ignore:`torch.nn.utils.weight_norm` is deprecated")


def build(lib, kind):
    nn = lib.nn
    if kind == "linear":
        return nn.Linear(4, 3)
    if kind == "conv":
        return nn.Conv2d(2, 3, 3)
    return nn.ConvTranspose2d(3, 2, 2)


INPUTS = {"linear": (5, 4), "conv": (2, 2, 5, 5), "convt": (2, 3, 3, 3)}


@pytest.mark.parametrize("kind", ["linear", "conv", "convt"])
@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm(kind, dim):
    t = torch.nn.utils.weight_norm(build(torch, kind), dim=dim)
    e = ember.nn.utils.weight_norm(build(ember, kind), dim=dim)
    assert list(e.state_dict()) == list(t.state_dict())
    assert e.weight_g.shape == t.weight_g.shape
    compare_modules(t, e, [rng.standard_normal(INPUTS[kind])], rtol=1e-6, atol=1e-7)


def test_weight_norm_initial_weight_is_unchanged_and_remove_restores_a_parameter():
    lin = ember.nn.Linear(4, 3)
    w = lin.weight.detach().numpy().copy()
    ember.nn.utils.weight_norm(lin)
    np.testing.assert_allclose(lin.weight.detach().numpy(), w, rtol=1e-6)
    np.testing.assert_allclose(
        lin.weight_g.detach().numpy()[:, 0], np.linalg.norm(w, axis=1), rtol=1e-6
    )
    ember.nn.utils.remove_weight_norm(lin)
    assert list(lin.state_dict()) == ["bias", "weight"]
    assert isinstance(lin.weight, ember.nn.Parameter)
    np.testing.assert_allclose(lin.weight.detach().numpy(), w, rtol=1e-6)
    with pytest.raises(ValueError, match="not found"):
        ember.nn.utils.remove_weight_norm(lin)


def test_weight_norm_twice_is_an_error():
    lin = ember.nn.utils.weight_norm(ember.nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="two weight_norm hooks"):
        ember.nn.utils.weight_norm(lin)


def test_weight_norm_gradcheck():
    def fn(g, v, x):
        lin = ember.nn.Linear(3, 2, bias=False).double()
        ember.nn.utils.weight_norm(lin)
        lin._parameters["weight_g"], lin._parameters["weight_v"] = g, v  # keep the graph
        return lin(x)

    g, v, x = rng.standard_normal((2, 1)), rng.standard_normal((2, 3)), rng.standard_normal((4, 3))
    check_gradcheck(lambda g, v, x: fn(g, v, x), [g, v, x])


@pytest.mark.parametrize("kind", ["linear", "conv", "convt"])
@pytest.mark.parametrize("train", [True, False])
def test_spectral_norm(kind, train):
    t = torch.nn.utils.spectral_norm(build(torch, kind), n_power_iterations=2)
    e = ember.nn.utils.spectral_norm(build(ember, kind), n_power_iterations=2)
    assert list(e.state_dict()) == list(t.state_dict())
    assert e.weight_u.shape == t.weight_u.shape and e.weight_v.shape == t.weight_v.shape
    compare_modules(t, e, [rng.standard_normal(INPUTS[kind])], train=train)
    # the power iteration keeps going in training mode: the buffers still agree a step later
    compare_modules(t, e, [rng.standard_normal(INPUTS[kind])], train=train)


def test_spectral_norm_converges_to_the_largest_singular_value():
    lin = ember.nn.utils.spectral_norm(ember.nn.Linear(6, 5), n_power_iterations=50)
    lin(ember.zeros(1, 6))
    w = lin.weight.detach().numpy()
    np.testing.assert_allclose(np.linalg.svd(w, compute_uv=False)[0], 1.0, rtol=1e-4)
    ember.nn.utils.remove_spectral_norm(lin)
    assert list(lin.state_dict()) == ["bias", "weight"]


def test_spectral_norm_bad_arguments():
    with pytest.raises(ValueError, match="n_power_iterations"):
        ember.nn.utils.spectral_norm(ember.nn.Linear(2, 2), n_power_iterations=0)
    with pytest.raises(ValueError, match="no parameter named 'kernel'"):
        ember.nn.utils.spectral_norm(ember.nn.Linear(2, 2), name="kernel")
