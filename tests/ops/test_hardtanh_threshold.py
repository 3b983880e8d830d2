"""hardtanh (relu6) and threshold against torch: values, -0.0, NaN, bounds and gradients."""

import numpy as np
import pytest
import torch

import ember

SPECIAL = [np.nan, -0.0, 0.0, 1.0, -1.0, 0.5, -0.5, 6.0, -6.0, 0.2, np.inf, -np.inf]
# (torch gives NaN a zero hardtanh gradient from 16 elements on, which every input here has)


def _input(dtype, n=3000):
    x = (np.random.default_rng(0).standard_normal(n) * 4).astype(dtype)
    x[: len(SPECIAL)] = SPECIAL
    return x


CASES = {
    "hardtanh": lambda F, t, **kw: F.hardtanh(t, **kw),
    "hardtanh(-0.5, 0.5)": lambda F, t, **kw: F.hardtanh(t, -0.5, 0.5, **kw),
    "hardtanh(-0.0, 0.0)": lambda F, t, **kw: F.hardtanh(t, -0.0, 0.0, **kw),
    "relu6": lambda F, t, **kw: F.relu6(t, **kw),
    "threshold(0, 5)": lambda F, t, **kw: F.threshold(t, 0.0, 5.0, **kw),
    "threshold(0.5, -2)": lambda F, t, **kw: F.threshold(t, 0.5, -2.0, **kw),
    "threshold(-inf, 1)": lambda F, t, **kw: F.threshold(t, -np.inf, 1.0, **kw),
}


def _run(lib, name, x, inplace):
    t = lib.tensor(x, requires_grad=True)
    out = CASES[name](lib.nn.functional, t * 1 if inplace else t, inplace=inplace)
    out.backward(lib.tensor(np.linspace(-1, 2, x.size).astype(x.dtype)))
    return out.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("inplace", [False, True])
def test_matches_torch(name, dtype, inplace):
    x = _input(dtype)
    (y, g), (ty, tg) = (_run(lib, name, x, inplace) for lib in (ember, torch))
    assert y.dtype == ty.dtype
    np.testing.assert_array_equal(y, ty)  # selections and clips: exact
    np.testing.assert_array_equal(np.signbit(y), np.signbit(ty))  # -0.0 kept as torch
    np.testing.assert_array_equal(g, tg)


def test_large_input_on_threads_matches_torch():
    x = _input("float32", n=1 << 19)
    for name in ("hardtanh", "threshold(0, 5)"):
        (y, g), (ty, tg) = (_run(lib, name, x, False) for lib in (ember, torch))
        np.testing.assert_array_equal(y, ty)
        np.testing.assert_array_equal(g, tg)


@pytest.mark.parametrize("dtype", ["int64", "int32"])
def test_integer_inputs(dtype):
    x = np.arange(-8, 8).astype(dtype)
    for name in ("hardtanh(-0.5, 0.5)", "threshold(0.5, -2)"):
        want = CASES[name](torch.nn.functional, torch.tensor(x)).numpy()
        got = CASES[name](ember.nn.functional, ember.tensor(x)).numpy()
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


def test_double_backward_matches_torch():
    x = _input("float64", n=40)
    x = x[np.isfinite(x)]
    results = []
    for lib in (ember, torch):
        t = lib.tensor(x, requires_grad=True)
        out = lib.nn.functional.hardtanh(t * t, -0.5, 0.5)
        (first,) = lib.autograd.grad(out.sum(), t, create_graph=True)
        (second,) = lib.autograd.grad(first.sum(), t)
        results.append((first.detach().numpy(), second.numpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_hardtanh_bounds_in_wrong_order_raise():
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        ember.nn.functional.hardtanh(ember.ones(3), 1.0, -1.0)


@pytest.mark.parametrize("name", ["hardtanh", "threshold(0, 5)"])
def test_transposed_input_matches_torch(name):
    x = _input("float32", n=600).reshape(20, 30)
    x[np.isnan(x)] = 0.25  # torch's strided loop passes NaN's hardtanh gradient, see compat.md
    results = []
    for lib in (ember, torch):
        t = lib.tensor(x, requires_grad=True)
        out = CASES[name](lib.nn.functional, t.T)
        out.backward(lib.tensor(np.cos(np.arange(600)).reshape(30, 20).astype(np.float32)))
        results.append((out.detach().numpy(), t.grad.numpy()))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
