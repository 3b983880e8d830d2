"""nn.utils.parametrize and parametrizations.weight_norm / spectral_norm against torch."""

import numpy as np
import pytest
import torch
from torch.nn.utils import parametrize as t_parametrize

import ember
from ember.nn.utils import parametrize
from tests.nn.helpers import check_gradcheck, compare_modules

rng = np.random.default_rng(0)


def build(lib, kind):
    nn = lib.nn
    return {"linear": lambda: nn.Linear(4, 3), "conv": lambda: nn.Conv2d(2, 3, 3),
            "convt": lambda: nn.ConvTranspose2d(3, 2, 2)}[kind]()  # fmt: skip


INPUTS = {"linear": (5, 4), "conv": (2, 2, 5, 5), "convt": (2, 3, 3, 3)}


@pytest.mark.parametrize("kind", ["linear", "conv", "convt"])
@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm(kind, dim):
    t = torch.nn.utils.parametrizations.weight_norm(build(torch, kind), dim=dim)
    e = ember.nn.utils.parametrizations.weight_norm(build(ember, kind), dim=dim)
    assert [(k, tuple(v.shape)) for k, v in e.state_dict().items()] == [
        (k, tuple(v.shape)) for k, v in t.state_dict().items()
    ]
    assert repr(e) == repr(t)
    assert type(e).__name__ == type(t).__name__
    compare_modules(t, e, [rng.standard_normal(INPUTS[kind])])


@pytest.mark.parametrize("kind", ["linear", "conv", "convt"])
@pytest.mark.parametrize("train", [True, False])
def test_spectral_norm(kind, train):
    t = torch.nn.utils.parametrizations.spectral_norm(build(torch, kind), n_power_iterations=3)
    e = ember.nn.utils.parametrizations.spectral_norm(build(ember, kind), n_power_iterations=3)
    assert list(e.state_dict()) == list(t.state_dict())
    assert repr(e) == repr(t)
    for _ in range(2):  # the vectors _u and _v keep iterating in training mode
        compare_modules(t, e, [rng.standard_normal(INPUTS[kind])], train=train)


def test_spectral_norm_normalises_to_unit_largest_singular_value():
    lin = ember.nn.utils.parametrizations.spectral_norm(ember.nn.Linear(5, 4))
    s = np.linalg.svd(lin.weight.detach().numpy(), compute_uv=False)
    np.testing.assert_allclose(s[0], 1.0, rtol=1e-3)  # after 15 initial iterations


class Symmetric(ember.nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).transpose(0, 1)


class TSymmetric(torch.nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).transpose(0, 1)


def test_register_assign_and_remove():
    t, e = torch.nn.Linear(3, 3), ember.nn.Linear(3, 3)
    t_parametrize.register_parametrization(t, "weight", TSymmetric())
    parametrize.register_parametrization(e, "weight", Symmetric())
    assert parametrize.is_parametrized(e) and parametrize.is_parametrized(e, "weight")
    assert not parametrize.is_parametrized(e, "bias")
    assert list(e.state_dict()) == list(t.state_dict())
    compare_modules(t, e, [rng.standard_normal((2, 3))])
    w = e.weight.detach().numpy()
    np.testing.assert_allclose(w, w.T)
    # assigning goes through right_inverse (here none: the original takes the value)
    e.weight = ember.tensor(np.arange(9.0).reshape(3, 3))
    np.testing.assert_allclose(e.parametrizations.weight.original.detach().numpy(),
                               np.arange(9.0).reshape(3, 3))  # fmt: skip
    parametrize.remove_parametrizations(e, "weight")
    t_parametrize.remove_parametrizations(t, "weight")
    assert type(e) is ember.nn.Linear and list(e.state_dict()) == list(t.state_dict())
    assert isinstance(e.weight, ember.nn.Parameter)
    np.testing.assert_allclose(e.weight.detach().numpy(), [[0, 1, 2], [1, 4, 5], [2, 5, 8]])
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        parametrize.remove_parametrizations(e, "weight")


def test_shape_change_needs_unsafe_and_missing_names_are_errors():
    class Halve(ember.nn.Module):
        def forward(self, x):
            return x[:1]

    with pytest.raises(ValueError, match="may not change the shape"):
        parametrize.register_parametrization(ember.nn.Linear(2, 2), "weight", Halve())
    with pytest.raises(ValueError, match="with name 'kernel'"):
        parametrize.register_parametrization(ember.nn.Linear(2, 2), "kernel", Halve())
    with pytest.raises(ValueError, match="Cannot leave unparametrized"):
        lin = ember.nn.utils.parametrizations.weight_norm(ember.nn.Linear(2, 2))
        parametrize.remove_parametrizations(lin, "weight", leave_parametrized=False)


def test_weight_norm_gradcheck_through_the_parametrization():
    def fn(g, v, x):
        lin = ember.nn.utils.parametrizations.weight_norm(
            ember.nn.Linear(3, 2, bias=False).double()
        )
        plist = lin.parametrizations.weight
        plist._parameters["original0"], plist._parameters["original1"] = g, v
        return lin(x)

    g, v, x = rng.standard_normal((2, 1)), rng.standard_normal((2, 3)), rng.standard_normal((4, 3))
    check_gradcheck(fn, [g, v, x], second_order=True)
