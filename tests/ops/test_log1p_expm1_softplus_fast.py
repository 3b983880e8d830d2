"""The float32 kernels of ``backends/numpy/log1p_expm1.py`` behind ember.log1p, ember.expm1
and softplus: values against float64 (in ulp) and PyTorch, special values and gradients as
PyTorch gives them, on arrays large enough to take them (and to span several blocks)."""

import numpy as np
import pytest
import torch

import ember
import ember.nn.functional as F
from ember.backends.numpy import log1p_expm1
from ember.backends.onednn import chain, library

N = 3 * (1 << 16) + 77  # several blocks and a partial one
SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, -1.0, -2.0, 1e-30, -1e-30, 1e-45,
                    -1e-45, 3e-8, -3e-8, 88.7, 88.8, -88.0, -104.0, 1e30, -0.5, 20.5],
                   np.float32)  # fmt: skip
SUBNORMAL = 1e-44  # a few steps of float32's subnormals, where relative errors grow


def _inputs(low, high, seed=0):
    """N float32 inputs, the special values first, then uniform in [low, high], then values
    of every magnitude from 1e-40 to ``high`` with either sign."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(low, high, N).astype(np.float32)
    x[: SPECIAL.size] = SPECIAL
    wide = np.sign(rng.uniform(-1, 1, N // 3)) * 10.0 ** rng.uniform(-40, np.log10(high), N // 3)
    x[SPECIAL.size : SPECIAL.size + wide.size] = np.clip(wide, low, high)
    return x


def _max_ulp(got, exact):
    """Largest error of float32 ``got`` from float64 ``exact``, in float32 ulp of the exact
    value, over the elements whose exact value is finite in float32."""
    rounded = exact.astype(np.float32)
    finite = np.isfinite(rounded)
    error = np.abs(got[finite].astype(np.float64) - exact[finite])
    return (error / np.spacing(np.abs(rounded[finite]))).max()


def _same_specials(got, theirs):
    """NaN, infinities and the sign of zero where PyTorch's are (PyTorch's are also zero for
    subnormal results, which ``_max_ulp`` checks)."""
    np.testing.assert_array_equal(np.isnan(got), np.isnan(theirs))
    np.testing.assert_array_equal(got[np.isinf(theirs)], theirs[np.isinf(theirs)])
    zeros = got == 0
    np.testing.assert_array_equal(np.signbit(got[zeros]), np.signbit(theirs[zeros]))


def _run(fn, x, g, lib, dtype=None):
    """fn(x) and the gradient of sum(fn(x) * g), in ember or PyTorch."""
    if lib is torch:
        t = torch.tensor(x, dtype=dtype, requires_grad=True)
        y = fn(t)
        y.backward(torch.tensor(g, dtype=dtype))
    else:
        t = ember.tensor(x, requires_grad=True)
        y = fn(t)
        y.backward(ember.tensor(g))
    return y.detach().numpy(), t.grad.numpy()


CASES = {
    "log1p": (lambda t: t.log1p(), -1.0, 1e30, 4.5),
    "expm1": (lambda t: t.expm1(), -110.0, 90.0, 5.5),  # oneDNN's exp: 2 + |x| / 25 ulp
}


@pytest.mark.parametrize("name", CASES)
def test_op_accurate_and_as_pytorch(name):
    fn, low, high, max_ulp = CASES[name]
    x = _inputs(low, high)
    assert log1p_expm1.fast(x)
    g = np.random.default_rng(1).standard_normal(N).astype(np.float32)
    y, grad = _run(fn, x, g, ember)
    y32, grad32 = _run(fn, x, g, torch)
    y64, _ = _run(fn, x, g, torch, torch.float64)
    assert _max_ulp(y, y64) <= max_ulp
    _same_specials(y, y32)
    tiny = np.abs(x) < 1e-8  # log1p(x) = expm1(x) = x, subnormals included (PyTorch: 0)
    np.testing.assert_array_equal(y[tiny], x[tiny])
    np.testing.assert_allclose(y, y32, rtol=6e-7, atol=SUBNORMAL)
    # g / (1 + x) and g (1 + y) as before: near y = -1 the ulp of y count in 1 + y
    np.testing.assert_array_equal(grad, g / (x + 1) if name == "log1p" else g * (y + 1))
    np.testing.assert_allclose(grad, grad32, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("beta,threshold", [(1.0, 20.0), (2.5, 5.0), (0.3, 30.0), (1.0, 3.0)])
def test_softplus_accurate_and_as_pytorch(beta, threshold):
    x = _inputs(-200.0, 200.0)
    assert log1p_expm1.takes_softplus(x, threshold)
    g = np.random.default_rng(2).standard_normal(N).astype(np.float32)

    def fn(t):
        return F.softplus(t, beta, threshold) if isinstance(t, ember.Tensor) else (
            torch.nn.functional.softplus(t, beta, threshold))  # fmt: skip

    y, grad = _run(fn, x, g, ember)
    y32, grad32 = _run(fn, x, g, torch)
    # float64 from PyTorch's float32 beta x, which rounds before anything else is computed
    b = np.float32(beta)
    s = (x * b).astype(np.float64)
    y64 = np.where(s > np.float32(threshold), x, np.logaddexp(0, s) / np.float64(b))
    assert _max_ulp(y, y64) <= 6
    _same_specials(y, y32)
    above = x * b > np.float32(threshold)
    np.testing.assert_array_equal(y[above], x[above])
    np.testing.assert_allclose(y, y32, rtol=1e-6, atol=SUBNORMAL)
    np.testing.assert_allclose(grad, grad32, rtol=1e-6, atol=SUBNORMAL)
    _same_specials(grad, grad32)


def test_softplus_double_backward_as_pytorch():
    """beta^2 z / (1 + z)^2, a difference of nearly equal terms for large z in either: its
    error is absolute, of float32's epsilon."""
    x = _inputs(-30.0, 30.0)
    grads = []
    for lib, dtype in ((ember, ember.float32), (torch, torch.float64)):
        t = lib.tensor(x, dtype=dtype, requires_grad=True)
        (first,) = lib.autograd.grad(lib.nn.functional.softplus(t, 2.0).sum(), t, create_graph=True)
        first.sum().backward()
        grads.append(t.grad.numpy())
    np.testing.assert_allclose(*grads, rtol=1e-5, atol=1e-6)


def test_softplus_threshold_beyond_float32_exp_as_pytorch():
    """Above 88.7 PyTorch's formula overflows: exp(beta x) is inf where beta x <= threshold."""
    x = np.linspace(-100, 200, N, dtype=np.float32)
    assert not log1p_expm1.takes_softplus(x, 100.0)
    got = F.softplus(ember.tensor(x), threshold=100.0).numpy()
    expected = torch.nn.functional.softplus(torch.tensor(x), threshold=100.0).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=SUBNORMAL)


def test_thread_count_does_not_change_results():
    x = _inputs(-1.0, 50.0)
    results = []
    for threads in (1, 2):
        previous = ember.get_num_threads()
        ember.set_num_threads(threads)
        try:
            results.append([log1p_expm1.log1p(x), log1p_expm1.expm1(x),
                            log1p_expm1.softplus(x, 1.5, 10.0)])  # fmt: skip
        finally:
            ember.set_num_threads(previous)
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("case", ["float64", "small", "strided"])
def test_others_keep_numpys_functions(case):
    if case == "float64":
        x = np.linspace(-0.9, 3, N)
        t = ember.tensor(x)
    elif case == "small":
        x = np.linspace(-0.9, 3, 1000, dtype=np.float32)
        t = ember.tensor(x)
    else:
        base = np.linspace(-0.9, 3, 2 * N, dtype=np.float32)
        x, t = base[::2], ember.tensor(base)[::2]
    assert not log1p_expm1.fast(x) and not log1p_expm1.fast(t._data)
    np.testing.assert_array_equal(ember.log1p(t).numpy(), np.log1p(x))
    np.testing.assert_array_equal(ember.expm1(t).numpy(), np.expm1(x))


@pytest.mark.skipif(not library.available(), reason="oneDNN is not installed")
def test_default_softplus_takes_the_onednn_passes_and_agrees_with_the_numpy_blocks(
    monkeypatch,
):
    x = _inputs(-200.0, 200.0, seed=3)
    x = np.concatenate([x] * 6)  # more than one chunk, the last a partial one
    assert x.size > log1p_expm1._CHUNK
    taken = []
    original = log1p_expm1._softplus_on_onednn
    monkeypatch.setattr(
        log1p_expm1, "_softplus_on_onednn", lambda *a: taken.append(original(*a)) or taken[-1]
    )
    on_onednn = log1p_expm1.softplus(x, 1.0, 20.0)
    assert taken == [True]
    log1p_expm1.softplus(x, 1.0, 3.0)  # a threshold below 15 selects: the NumPy blocks
    log1p_expm1.softplus(x[: log1p_expm1.MIN_ONEDNN_SOFTPLUS_ELEMENTS - 1], 1.0, 20.0)
    assert taken == [True]
    monkeypatch.setattr(chain, "run", lambda *a: None)
    on_numpy = log1p_expm1.softplus(x, 1.0, 20.0)
    assert taken == [True, False]
    _same_specials(on_onednn, on_numpy)
    exact = np.logaddexp(0, x.astype(np.float64))
    assert _max_ulp(on_onednn, exact) <= 6 and _max_ulp(on_numpy, exact) <= 6
    flushed = x < -86  # oneDNN's exp flushes there: computed again, subnormal as PyTorch's
    theirs = torch.nn.functional.softplus(torch.tensor(x[flushed])).numpy()
    np.testing.assert_allclose(on_onednn[flushed], theirs, rtol=1e-6, atol=SUBNORMAL)
    assert (on_onednn[flushed & (x > -100)] > 0).all()
