"""Discrete Fourier transforms on the CPU through ``scipy.fft`` (pocketfft).

``scipy.fft`` keeps single precision (complex64 in, complex64 out) as PyTorch does;
``numpy.fft`` computes in double. Measured on this machine, float32 (64, 16384): rfft 3.5 ms
here against 16.9 ms for ``numpy.fft`` plus the cast back, complex fft 7.7 ms against 36 ms.
``norm`` is PyTorch's and SciPy's: "backward", "ortho" or "forward".
"""

import scipy.fft

from ember.backends.registry import register


@register("fft_c2c", "numpy")
def fft_c2c(z, dims, norm, forward):
    """The complex transform of ``z`` over ``dims`` (the inverse when not ``forward``)."""
    transform = scipy.fft.fftn if forward else scipy.fft.ifftn
    return transform(z, axes=dims, norm=norm)


@register("fft_r2c", "numpy")
def fft_r2c(x, dim, norm):
    """The non-redundant half (n // 2 + 1 values) of a real signal's transform along ``dim``."""
    return scipy.fft.rfft(x, axis=dim, norm=norm)


@register("fft_c2r", "numpy")
def fft_c2r(z, dim, n, norm):
    """The real signal of length ``n`` whose transform's non-redundant half is ``z``."""
    return scipy.fft.irfft(z, n=n, axis=dim, norm=norm)
