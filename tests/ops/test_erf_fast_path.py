"""float32 erf on arrays large enough for the polynomial path of `ember.backends.numpy.erf`
(oneDNN's passes from 32k elements; NumPy's passes below, or where oneDNN declines),
against SciPy's double precision erf and PyTorch, forward and gradient, special values
mixed into the blocks."""

import numpy as np
import pytest
import scipy.special
import torch

import ember
from ember.backends.numpy import erf as erf_module
from ember.backends.onednn import chain, library

SPECIAL = np.array(
    [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-40, -1e-40, 1e-45, -3e-39, 1.1e-38, 1.0, -1.0,
     1.0000001, 3.92, -3.95, 4.0, 4.5, -1e30, 3e38],
    np.float32,
)  # fmt: skip
TINY = np.finfo(np.float32).tiny
pytestmark = pytest.mark.usefixtures("two_threads")


def _inputs(n, seed=0):
    """n values: dense over [-6, 6], logarithmic near 0, and the special values at random
    places (inside blocks, not only at their edges)."""
    rng = np.random.default_rng(seed)
    k = (n - SPECIAL.size) // 2
    small = np.geomspace(1e-38, 2, n - SPECIAL.size - k) * rng.choice([-1, 1], n - SPECIAL.size - k)
    x = np.concatenate([np.linspace(-6, 6, k), small, SPECIAL]).astype(np.float32)
    return x[rng.permutation(n)]


@pytest.mark.parametrize("n", [(1 << 20) + 3, 20_000])  # with oneDNN's exp, with NumPy's
def test_float32_matches_scipy_double_precision(n):
    x = _inputs(n)
    assert n >= erf_module._SMALL
    ours = erf_module.erf(x)
    exact = scipy.special.erf(x.astype(np.float64))
    assert ours.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(x))
    finite = ~np.isnan(x)
    error = np.abs(ours[finite] - exact[finite])
    assert error.max() <= 1.6e-7
    normal = np.abs(exact[finite]) >= TINY
    assert (error[normal] / np.abs(exact[finite][normal])).max() <= 2e-7
    assert error[~normal].max() <= 1.5e-45  # subnormal results: one step of rounding
    assert np.abs(ours[finite]).max() <= 1


def test_special_values_match_torch():
    x = _inputs(1 << 17, seed=1)
    ours = erf_module.erf(x)
    theirs = torch.erf(torch.from_numpy(x)).numpy()
    at = np.isin(x, SPECIAL[(SPECIAL == 0) | ~np.isfinite(SPECIAL) | (np.abs(SPECIAL) >= 4)])
    np.testing.assert_array_equal(ours[at], theirs[at])  # NaN, +-1, and +-0 ...
    np.testing.assert_array_equal(np.signbit(ours[at]), np.signbit(theirs[at]))  # ... signed
    subnormal = (x != 0) & (np.abs(x) < TINY)
    np.testing.assert_allclose(ours[subnormal], theirs[subnormal], rtol=0, atol=1.5e-45)
    assert (ours[subnormal] != 0).all()


def test_op_forward_and_gradient_match_torch():
    x = _inputs((1 << 20) + 4, seed=2).reshape(-1, 5)
    g = np.random.default_rng(3).standard_normal(x.shape).astype(np.float32)
    ours = ember.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    y, expected = ours.erf(), theirs.erf()
    y.backward(ember.tensor(g))
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(
        y.detach().numpy(), expected.detach().numpy(), rtol=2e-7, atol=1.6e-7
    )
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-37)
    np.testing.assert_allclose(
        ember.erfc(ember.tensor(x)).numpy(), torch.erfc(torch.tensor(x)).numpy(), atol=3e-7
    )


def test_threads_layouts_out_and_float16_agree():
    x = _inputs(300_001, seed=4)
    whole = erf_module.erf(x)
    ember.set_num_threads(1)
    np.testing.assert_array_equal(erf_module.erf(x), whole)  # blocks do not depend on threads
    ember.set_num_threads(2)
    out = np.full_like(x, 7)
    assert erf_module.erf(x, out=out) is out
    np.testing.assert_array_equal(out, whole)
    strided = np.stack([x, -x], axis=1)
    np.testing.assert_array_equal(erf_module.erf(strided[:, 0]), whole)
    np.testing.assert_array_equal(erf_module.erf(strided.T)[1], -whole)
    half = x.astype(np.float16)
    np.testing.assert_allclose(
        erf_module.erf(half), scipy.special.erf(half.astype(np.float64)), rtol=1e-3, atol=1e-3
    )
    assert erf_module.erf(half).dtype == np.float16


def _accurate(ours, x):
    exact = scipy.special.erf(x.astype(np.float64))
    finite = ~np.isnan(x)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(x))
    error = np.abs(ours[finite] - exact[finite])
    assert error.max() <= 1.6e-7
    normal = np.abs(exact[finite]) >= TINY
    assert (error[normal] / np.abs(exact[finite][normal])).max() <= 2e-7


@pytest.mark.skipif(not library.available(), reason="oneDNN is not installed")
def test_large_arrays_take_the_onednn_passes_and_agree_with_the_numpy_passes(monkeypatch):
    x = _inputs(2 * erf_module._CHUNK + 5, seed=5)  # three chunks, the last of 5 elements
    taken = []
    original = erf_module._erf_on_onednn
    monkeypatch.setattr(
        erf_module, "_erf_on_onednn", lambda *a: taken.append(original(*a)) or taken[-1]
    )
    on_onednn = erf_module.erf(x)
    assert taken == [True]
    _accurate(on_onednn, x)
    np.testing.assert_array_equal(np.signbit(on_onednn), np.signbit(x))  # -0.0 and NaN's too

    monkeypatch.setattr(chain, "run", lambda *a: None)  # oneDNN declines: the NumPy passes
    on_numpy = erf_module.erf(x)
    assert taken == [True, False]
    _accurate(on_numpy, x)
    differ = (on_onednn != on_numpy) & ~np.isnan(x)
    assert differ.sum() <= x.size // 1000  # the fused first Horner step: an ulp here and there
    assert (
        np.abs(on_onednn[differ] - on_numpy[differ]) <= np.spacing(np.abs(on_numpy[differ]))
    ).all()


def test_arrays_below_the_threshold_take_the_numpy_passes(monkeypatch):
    monkeypatch.setattr(erf_module, "_erf_on_onednn", lambda *a: pytest.fail("oneDNN passes"))
    x = _inputs(erf_module.MIN_ONEDNN_ELEMENTS - 1, seed=6)
    _accurate(erf_module.erf(x), x)
