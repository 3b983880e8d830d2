"""Window functions for spectral analysis (``stft``'s ``window=``): Hann, Hamming, Blackman,
Bartlett and Kaiser.

A periodic window of length N is the symmetric window of length N + 1 without its last
value, which is what a window meant to be repeated (as in a spectrogram) needs. Values are
computed in float64 and cast to the requested floating dtype.
"""

import numpy as np
from scipy import special as _scipy_special

from ember import _dtype
from ember._ops.creation import _finish

__all__ = ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]


def _positions(name, window_length, periodic, dtype):
    """(n, M, dtype): sample indices and the symmetric length they are spread over."""
    if window_length < 0:
        raise RuntimeError(
            f"{name} requires non-negative window_length, got window_length={window_length}"
        )
    dt = _dtype.get_default_dtype() if dtype is None else _dtype.to_dtype(dtype)
    if not dt.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: {dt}")
    length = window_length + 1 if periodic else window_length
    return np.arange(window_length, dtype=np.float64), length, dt


def _window(name, window_length, periodic, dtype, device, requires_grad, values):
    n, length, dt = _positions(name, window_length, periodic, dtype)
    if window_length == 1:
        result = np.ones(1)
    else:
        result = values(n, length) if window_length else np.zeros(0)
    return _finish(result.astype(dt.np), requires_grad, device)


def _cosine_sum(coefficients):
    """sum_k (-1)^k a_k cos(2 pi k n / (M - 1)), the family of Hann, Hamming and Blackman."""

    def values(n, length):
        phase = 2 * np.pi * n / (length - 1)
        return sum((-1) ** k * a * np.cos(k * phase) for k, a in enumerate(coefficients))

    return values


def hann_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                requires_grad=False):  # fmt: skip
    """0.5 - 0.5 cos(2 pi n / (N - 1))."""
    return _window("hann_window", window_length, periodic, dtype, device, requires_grad,
                   _cosine_sum((0.5, 0.5)))  # fmt: skip


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None,
                   layout=None, device=None, requires_grad=False):  # fmt: skip
    """alpha - beta cos(2 pi n / (N - 1))."""
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                   _cosine_sum((alpha, beta)))  # fmt: skip


def blackman_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                    requires_grad=False):  # fmt: skip
    """0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))."""
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad,
                   _cosine_sum((0.42, 0.5, 0.08)))  # fmt: skip


def bartlett_window(window_length, periodic=True, *, dtype=None, layout=None, device=None,
                    requires_grad=False):  # fmt: skip
    """The triangle 1 - |2 n / (N - 1) - 1|."""

    def values(n, length):
        return 1 - np.abs(2 * n / (length - 1) - 1)

    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                   values)  # fmt: skip


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, layout=None,
                  device=None, requires_grad=False):  # fmt: skip
    """I0(beta sqrt(1 - (2 n / (N - 1) - 1)^2)) / I0(beta), I0 the modified Bessel function."""

    def values(n, length):
        ratio = 2 * n / (length - 1) - 1
        return _scipy_special.i0(beta * np.sqrt(np.clip(1 - ratio * ratio, 0, None))) / (
            _scipy_special.i0(beta)
        )

    return _window("kaiser_window", window_length, periodic, dtype, device, requires_grad,
                   values)  # fmt: skip
