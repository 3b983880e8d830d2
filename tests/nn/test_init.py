"""nn.init: exact initialisers equal torch's; random ones have torch's distributions."""

import math

import numpy as np
import pytest
import torch

import ember
from ember.nn import init


def e_t(shape, dtype=ember.float64):
    return ember.empty(*shape, dtype=dtype)


@pytest.mark.parametrize(
    "name,param",
    [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
     ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)],
)  # fmt: skip
def test_calculate_gain(name, param):
    assert init.calculate_gain(name, param) == pytest.approx(
        torch.nn.init.calculate_gain(name, param)
    )


def test_calculate_gain_rejects_unknown():
    with pytest.raises(ValueError, match="swish"):
        init.calculate_gain("swish")


@pytest.mark.parametrize(
    "name,shape,kwargs",
    [("constant_", (3, 4), {"val": 0.5}), ("ones_", (2, 3), {}), ("zeros_", (5,), {}),
     ("eye_", (3, 5), {}), ("dirac_", (4, 2, 3), {}), ("dirac_", (6, 3, 3, 3), {"groups": 2}),
     ("dirac_", (2, 4, 3, 1, 3), {})],
)  # fmt: skip
def test_deterministic_initialisers_equal_torch(name, shape, kwargs):
    t = getattr(torch.nn.init, name)(torch.empty(shape), **kwargs)
    e = getattr(init, name)(e_t(shape, ember.float32), **kwargs)
    np.testing.assert_array_equal(e.numpy(), t.numpy())


def _std_bound(name, shape, kwargs):
    fan_in = shape[1] * int(np.prod(shape[2:]))
    fan_out = shape[0] * int(np.prod(shape[2:]))
    gain = kwargs.get("gain", 1.0)
    if name.startswith("xavier"):
        return gain * math.sqrt(2.0 / (fan_in + fan_out))
    fan = fan_in if kwargs.get("mode", "fan_in") == "fan_in" else fan_out
    g = init.calculate_gain(kwargs.get("nonlinearity", "leaky_relu"), kwargs.get("a", 0))
    return g / math.sqrt(fan)


@pytest.mark.parametrize(
    "name,shape,kwargs",
    [("xavier_uniform_", (300, 200), {}), ("xavier_normal_", (300, 200), {"gain": 2.0}),
     ("kaiming_uniform_", (200, 50, 3, 3), {"a": math.sqrt(5)}),
     ("kaiming_normal_", (200, 50, 3), {"mode": "fan_out", "nonlinearity": "relu"}),
     ("kaiming_uniform_", (400, 300), {"nonlinearity": "tanh"})],
)  # fmt: skip
def test_scaled_initialisers_have_torchs_standard_deviation(name, shape, kwargs):
    e = getattr(init, name)(e_t(shape), **kwargs).numpy()
    std = _std_bound(name, shape, kwargs)
    np.testing.assert_allclose(e.std(), std, rtol=0.02)
    assert abs(e.mean()) < 0.02 * std * 10
    if "uniform" in name:
        assert np.abs(e).max() <= std * math.sqrt(3)


def test_uniform_normal_and_trunc_normal():
    u = init.uniform_(e_t((100000,)), -2.0, 3.0).numpy()
    assert u.min() >= -2 and u.max() < 3 and abs(u.mean() - 0.5) < 0.02
    n = init.normal_(e_t((100000,)), 1.0, 2.0).numpy()
    assert abs(n.mean() - 1) < 0.03 and abs(n.std() - 2) < 0.03
    tn = init.trunc_normal_(e_t((100000,)), 0.5, 1.0, -1.0, 1.5).numpy()
    assert tn.min() >= -1 and tn.max() <= 1.5
    ref = torch.nn.init.trunc_normal_(torch.empty(100000, dtype=torch.float64), 0.5, 1.0, -1.0, 1.5)
    assert abs(tn.mean() - ref.mean().item()) < 0.02 and abs(tn.std() - ref.std().item()) < 0.02


@pytest.mark.parametrize("shape", [(4, 6), (6, 4), (3, 2, 2)])
def test_orthogonal_rows_or_columns_are_orthonormal(shape):
    w = init.orthogonal_(e_t(shape), gain=2.0).numpy().reshape(shape[0], -1)
    small = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    np.testing.assert_allclose(small, 4 * np.eye(len(small)), atol=1e-10)


def test_sparse_zeroes_the_given_fraction_of_each_column():
    w = init.sparse_(e_t((10, 6)), 0.3, std=0.5).numpy()
    assert ((w == 0).sum(0) == 3).all()


def test_seeded_draws_repeat_and_generators_are_separate():
    ember.manual_seed(7)
    a = init.normal_(e_t((5,))).numpy()
    ember.manual_seed(7)
    np.testing.assert_array_equal(init.normal_(e_t((5,))).numpy(), a)
    g = ember.Generator().manual_seed(1)
    b = init.uniform_(e_t((5,)), generator=g).numpy()
    g.manual_seed(1)
    np.testing.assert_array_equal(init.uniform_(e_t((5,)), generator=g).numpy(), b)


def test_initialisers_work_in_place_without_recording_a_graph():
    p = ember.nn.Parameter(ember.zeros(3, 4))
    out = init.xavier_uniform_(p)
    assert out is p and p.is_leaf and p.grad_fn is None and p.requires_grad
    assert init.kaiming_uniform_(e_t((0, 3))).shape == (0, 3)  # warns, no-op


def test_bad_arguments():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(e_t((5,)))
    with pytest.raises(ValueError, match="fan_avg"):
        init.kaiming_normal_(e_t((3, 3)), mode="fan_avg")
    with pytest.raises(ValueError, match="2 dimensions"):
        init.eye_(e_t((2, 2, 2)))
    with pytest.raises(ValueError, match="3, 4, or 5"):
        init.dirac_(e_t((2, 2)))
