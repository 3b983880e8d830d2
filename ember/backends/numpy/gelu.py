"""Exact GELU, x Phi(x), and its derivative Phi(x) + x phi(x), fast in single precision.

Phi is the standard normal distribution function and phi its density. For a = |x| / sqrt(2),
Phi(-|x|) = erfc(a) / 2 = t R(t) exp(-x^2 / 2) with t = 1 / (1 + p a), where R is a degree-5
polynomial whose coefficients are weighted least-squares fitted to SciPy's double precision
erfcx (the weight exp(-a^2) makes the fit's error absolute in Phi: within 6e-8). Then
Phi(x) = 1/2 + sign(x) (1/2 - Phi(-|x|)), and the derivative reuses exp(-x^2 / 2) for phi.
Evaluated in float32 the cumulative probability is within 2e-7 of Phi, absolute, which is
what GELU needs (x (1 + erf(x / sqrt 2)) / 2 rounds to the same absolute precision); one
formula covers every x, so a float32 array takes about 20 in-place passes instead of the
two branches of ``erf`` and the select between them. The passes run over cache-sized blocks,
the blocks on ember's threads. ``gelu_and_derivative`` gives the derivative from the same
passes as the forward, so that a backward needs one multiplication instead of all of them
again. Half precision is computed in float32, double precision by SciPy's ndtr.
"""

import math

import numpy as np
from scipy import special

from ember.backends.numpy.threads import keeps_dtype, over_blocks

# t = 1 / (1 + P |x|) with P = p / sqrt 2 is s / P with s = 1 / (|x| + 1 / P): the powers
# of 1 / P are folded into R's coefficients, so s costs no multiplication.
_P = 0.54 / math.sqrt(2)
# R's coefficients, highest power first.
_R = (0.10218590065636399, -0.5171672738486036, 0.8050666290044451, -0.08392149516151812,
      0.39996996591055056, 0.2938662184052258)  # fmt: skip
# Phi(-|x|) = s (sum_i c_i s^(5 - i)) exp(-x^2 / 2): c_i = R_i / 2 / P^(6 - i)
_COEFFS = tuple(c / 2 / _P ** (6 - i) for i, c in enumerate(_R))
_INV_P = 1 / _P
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_BLOCK = 1 << 16  # the three buffers of a block stay in cache over its passes


def _cdf_parts(x, out, e):
    """out = Phi(x) and e = exp(-x^2 / 2), for float32 x."""
    s = np.abs(x)
    np.add(s, _INV_P, out=s)
    np.reciprocal(s, out=s)
    np.multiply(s, _COEFFS[0], out=out)
    for c in _COEFFS[1:]:
        np.add(out, c, out=out)
        np.multiply(out, s, out=out)
    np.square(x, out=e)
    np.multiply(e, -0.5, out=e)
    np.exp(e, out=e)
    np.multiply(out, e, out=out)  # Phi(-|x|)
    np.subtract(0.5, out, out=out)  # >= 0: x's sign makes it sign(x) (1/2 - Phi(-|x|))
    np.copysign(out, x, out=out)
    return np.add(out, 0.5, out=out)


def _gelu_block(x, out):
    _cdf_parts(x, out, np.empty_like(x))
    np.multiply(out, x, out=out)


def _derivative_from_parts(x, cdf, e):
    """e = Phi(x) + x phi(x) from cdf = Phi(x) and e = exp(-x^2 / 2)."""
    np.multiply(e, x, out=e)
    np.multiply(e, _INV_SQRT_2PI, out=e)
    np.add(cdf, e, out=e)


def _gelu_and_derivative_block(x, out, derivative):
    _cdf_parts(x, out, derivative)
    _derivative_from_parts(x, out, derivative)
    np.multiply(out, x, out=out)


def _gelu_grad_block(g, x, out):
    e = np.empty_like(x)
    _cdf_parts(x, out, e)
    _derivative_from_parts(x, out, e)
    np.multiply(e, g, out=out)


def _fast(*arrays):
    """Whether the float32 block kernels take these arrays (same shape, contiguous, not 0-d)."""
    first = arrays[0]
    return first.ndim > 0 and all(
        a.dtype == np.float32 and a.shape == first.shape and a.flags.c_contiguous for a in arrays
    )


@keeps_dtype
def gelu(x, out=None):
    """x Phi(x) as x's dtype, written into ``out`` when given."""
    out = np.empty(x.shape, x.dtype) if out is None else out
    if x.dtype == np.float16:  # computed in float32, as PyTorch does for half precision
        np.copyto(out, gelu(x.astype(np.float32)), casting="same_kind")
        return out
    if x.dtype != np.float32 or x.ndim == 0:
        np.copyto(out, x * special.ndtr(x), casting="unsafe")
        return out
    if not _fast(x, out):
        np.copyto(out, gelu(np.ascontiguousarray(x)))
        return out
    over_blocks(_gelu_block, x, out, block=_BLOCK)
    return out


def gelu_and_derivative(x):
    """(x Phi(x), Phi(x) + x phi(x)) for a float32 array, from one set of passes."""
    x = x if x.flags.c_contiguous else x.copy()
    out, derivative = np.empty_like(x), np.empty_like(x)
    over_blocks(_gelu_and_derivative_block, x, out, derivative, block=_BLOCK)
    return out, derivative


@keeps_dtype
def gelu_grad(g, x, out=None):
    """g (Phi(x) + x phi(x)), the input gradient of exact GELU, as g's dtype."""
    out = np.empty(g.shape, g.dtype) if out is None else out
    if x.dtype == np.float16 and g.dtype == x.dtype:
        np.copyto(out, gelu_grad(g.astype(np.float32), x.astype(np.float32)), casting="same_kind")
        return out
    if x.dtype != np.float32 or x.ndim == 0 or g.shape != x.shape or g.dtype != x.dtype:
        density = np.exp(-0.5 * np.square(x)) * _INV_SQRT_2PI
        np.copyto(out, g * (special.ndtr(x) + x * density), casting="unsafe")
        return out
    if not _fast(g, x, out):
        np.copyto(out, gelu_grad(np.ascontiguousarray(g), np.ascontiguousarray(x)))
        return out
    over_blocks(_gelu_grad_block, g, x, out, block=_BLOCK)
    return out
