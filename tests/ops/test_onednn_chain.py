"""Formulas of several steps in one oneDNN pass (`ember.backends.onednn.chain`): each step
rounds as NumPy's operation does (a linear step as one fused multiply-add), NaN and signed
zeros behave as documented, and results do not depend on the thread count."""

import numpy as np
import pytest

import ember
from ember.backends.onednn import chain, library

pytestmark = pytest.mark.skipif(not library.available(), reason="oneDNN is not installed")

N = (1 << 16) + 7
SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-39, 3e38], np.float32)


def _arrays(count, n=N):
    rng = np.random.default_rng(n + count)
    arrays = [(rng.standard_normal(n) * 4).astype(np.float32) for _ in range(count)]
    for i, a in enumerate(arrays):
        a[i * SPECIAL.size : (i + 1) * SPECIAL.size] = SPECIAL[::-1] if i % 2 else SPECIAL
    return arrays


def _same_bits(ours, expected):
    both_nan = np.isnan(ours) & np.isnan(expected)
    return ((ours.view(np.int32) == expected.view(np.int32)) | both_nan).all()


def test_binary_and_unit_linear_steps_are_numpys_operations():
    x, y, z, w = _arrays(4)
    steps = (
        chain.linear(1, 0.375),
        chain.with_array("multiply"),
        chain.with_array("add"),
        chain.linear(-1, -0.0),
        chain.function("abs"),
    )
    out = chain.run("multiply", steps, x, y, (z, w), np.empty_like(x))
    expected = np.abs(-((((x * y) + np.float32(0.375)) * z) + w))
    assert _same_bits(out, expected)


def test_linear_step_is_one_fused_multiply_add():
    x, y = _arrays(2)
    alpha, beta = np.float32(0.1234567), np.float32(-0.7654321)
    out = chain.run("add", (chain.linear(alpha, beta),), x, y, (), np.empty_like(x))
    fused = (np.float64(alpha) * (x + y).astype(np.float64) + np.float64(beta)).astype(np.float32)
    assert _same_bits(out, fused)
    assert not _same_bits(out, (x + y) * alpha + beta)  # NumPy's two roundings differ


def test_linear_with_minus_zero_keeps_the_sign_of_zero():
    x = np.array([0.0, -0.0] * 8, np.float32)
    one = np.ones_like(x)
    negated = chain.run("multiply", (chain.linear(-1, -0.0),), x, one, (), np.empty_like(x))
    assert np.array_equal(np.signbit(negated), ~np.signbit(x))


def test_minimum_step_returns_the_arrays_element_where_either_is_nan():
    v = np.array([np.nan, np.nan, 1.0, 2.0], np.float32)
    a = np.array([5.0, np.nan, np.nan, 1.0], np.float32)
    v, a = np.tile(v, 1024), np.tile(a, 1024)
    out = chain.run("maximum", (chain.with_array("minimum"),), v, v, (a,), np.empty_like(v))
    np.testing.assert_array_equal(out[:4], [5.0, np.nan, np.nan, 1.0])


def test_exp_step_is_close_to_numpy_and_results_do_not_depend_on_threads():
    x, y = _arrays(2)
    steps = (chain.linear(0.5, 0.0), chain.function("exp"))
    before = ember.get_num_threads()
    try:
        ember.set_num_threads(2)
        two = chain.run("add", steps, x, y, (), np.empty_like(x))
        ember.set_num_threads(1)
        one = chain.run("add", steps, x, y, (), np.empty_like(x))
    finally:
        ember.set_num_threads(before)
    assert _same_bits(one, two)
    expected = np.exp((x.astype(np.float64) + y) * 0.5)
    finite = np.isfinite(expected) & (expected > 1e-30) & (expected < 1e30)
    np.testing.assert_allclose(two[finite], expected[finite], rtol=1e-6)  # a few ulp


def test_plain_float32_accepts_only_flat_contiguous_float32_of_one_size():
    x = np.zeros(8, np.float32)
    assert chain.plain_float32(x, np.ones(8, np.float32))
    assert not chain.plain_float32(x, np.ones(9, np.float32))
    assert not chain.plain_float32(x, np.ones(8, np.float64))
    assert not chain.plain_float32(x, np.ones(16, np.float32)[::2])
    assert not chain.plain_float32(x.reshape(2, 4))


def test_without_onednn_run_declines_and_erf_and_softplus_take_numpy(monkeypatch):
    from ember.backends.numpy import erf as erf_module
    from ember.backends.numpy import log1p_expm1

    (x,) = _arrays(1, n=1 << 17)
    expected_erf, expected_softplus = erf_module.erf(x), log1p_expm1.softplus(x, 1.0, 20.0)
    monkeypatch.setattr(library, "available", lambda: False)
    assert chain.run("add", (), x, x, (), np.empty_like(x)) is None
    np.testing.assert_allclose(erf_module.erf(x), expected_erf, rtol=2e-7, atol=1e-7)
    np.testing.assert_allclose(
        log1p_expm1.softplus(x, 1.0, 20.0), expected_softplus, rtol=1e-6, atol=1e-38
    )
