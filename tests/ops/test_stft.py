"""ember.stft / istft and the window functions against PyTorch: values, shapes, dtypes,
round trips, gradients and errors."""

import warnings

import numpy as np
import pytest
import torch

import ember

RNG = np.random.default_rng(0)
WINDOWS = ["hann_window", "hamming_window", "blackman_window", "bartlett_window",
           "kaiser_window"]  # fmt: skip


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("length", [0, 1, 2, 7, 16])
@pytest.mark.parametrize("name", WINDOWS)
def test_windows_match_torch(name, length, periodic):
    for dtype, rtol in (("float32", 1e-6), ("float64", 1e-12)):
        got = getattr(ember, name)(length, periodic, dtype=getattr(ember, dtype))
        want = getattr(torch, name)(length, periodic, dtype=getattr(torch, dtype))
        assert str(got.dtype).split(".")[-1] == dtype
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=rtol, atol=rtol)


def test_window_parameters_match_torch():
    np.testing.assert_allclose(
        ember.hamming_window(9, True, 0.6, 0.4).numpy(),
        torch.hamming_window(9, True, 0.6, 0.4).numpy(), rtol=1e-6)  # fmt: skip
    np.testing.assert_allclose(
        ember.kaiser_window(9, False, 5.0).numpy(), torch.kaiser_window(9, False, 5.0).numpy(),
        rtol=1e-6)  # fmt: skip
    assert ember.hann_window(4).dtype is ember.float32


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.hann_window(4, dtype=lib.int64),
        lambda lib: lib.hann_window(-1),
        lambda lib: lib.stft(lib.ones(100), 16),
        lambda lib: lib.stft(lib.ones(100), 16, return_complex=True, window=lib.ones(5)),
        lambda lib: lib.stft(lib.ones(10), 16, return_complex=True, center=False),
        lambda lib: lib.stft(lib.ones(2, 2, 100), 16, return_complex=True),
        lambda lib: lib.istft(lib.ones(9, 5), 16),
        lambda lib: lib.istft(lib.ones(9, 5, dtype=lib.complex64), 16, window=lib.zeros(16)),
    ],
)
def test_errors_match_torch(call):
    with pytest.raises(Exception) as expected:
        call(torch)
    with pytest.raises(type(expected.value)):
        call(ember)


CASES = [
    dict(n_fft=32),
    dict(n_fft=32, hop_length=5, win_length=20, normalized=True),
    dict(n_fft=31, hop_length=8, center=False),
    dict(n_fft=32, onesided=False),
    dict(n_fft=16, pad_mode="constant"),
]


def _pair(lib, name, length, dtype):
    return getattr(lib, name)(length, dtype=getattr(lib, dtype))


@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_stft_and_istft_match_torch(case, batched):
    kw = CASES[case]
    signal = RNG.standard_normal((2, 200) if batched else (200,))
    win_length = kw.get("win_length", kw["n_fft"])
    results = []
    upstream = None
    for lib in (torch, ember):
        x = lib.tensor(signal, requires_grad=True)
        window = _pair(lib, "hamming_window", win_length, "float64")
        spec = lib.stft(x, window=window, return_complex=True, **kw)
        if upstream is None:
            upstream = RNG.standard_normal(tuple(spec.shape)) + 1j * RNG.standard_normal(
                tuple(spec.shape)
            )
        spec.backward(lib.tensor(upstream))
        istft_kw = {k: v for k, v in kw.items() if k != "pad_mode"}
        back = lib.istft(spec.detach(), window=window, length=200, **istft_kw)
        results.append((spec.detach().numpy(), x.grad.numpy(), back.numpy()))
    (ts, tg, tb), (es, eg, eb) = results
    assert es.shape == ts.shape
    np.testing.assert_allclose(es, ts, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(eg, tg, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(eb, tb, rtol=1e-10, atol=1e-10)
    if kw.get("center", True):
        np.testing.assert_allclose(eb, signal, atol=1e-10)


def test_istft_gradient_matches_torch():
    window = torch.hann_window(16, dtype=torch.float64)
    spec = torch.stft(
        torch.tensor(RNG.standard_normal(120)), 16, window=window, return_complex=True
    )
    upstream = RNG.standard_normal(120)
    grads = []
    for lib in (torch, ember):
        z = lib.tensor(spec.numpy(), requires_grad=True)
        window = _pair(lib, "hann_window", 16, "float64")
        lib.istft(z, 16, window=window, length=120).backward(lib.tensor(upstream))
        grads.append(z.grad.resolve_conj().numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-9, atol=1e-10)


def test_single_precision_and_gradcheck():
    x = ember.tensor(RNG.standard_normal(64).astype(np.float32))
    spec = ember.stft(x, 16, window=ember.hann_window(16), return_complex=True)
    assert spec.dtype is ember.complex64
    signal = ember.tensor(RNG.standard_normal(40), requires_grad=True)
    window = ember.hann_window(8, dtype=ember.float64)

    def fn(s):
        return ember.stft(s, 8, hop_length=3, window=window, return_complex=True)

    assert ember.autograd.gradcheck(fn, (signal,))


def test_return_complex_false_warns_and_gives_pairs():
    x = RNG.standard_normal(100)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = ember.stft(ember.tensor(x), 16, window=ember.ones(16), return_complex=False)
    assert any("return_complex=False is deprecated" in str(w.message) for w in caught)
    want = torch.stft(torch.tensor(x), 16, window=torch.ones(16), return_complex=False)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-6)


def test_tensor_methods():
    x = ember.tensor(RNG.standard_normal(64))
    w = ember.hann_window(16, dtype=ember.float64)
    spec = x.stft(16, window=w, return_complex=True)
    np.testing.assert_allclose(spec.istft(16, window=w, length=64).numpy(), x.numpy(), atol=1e-12)
