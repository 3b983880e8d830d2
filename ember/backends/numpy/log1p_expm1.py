"""log1p, expm1 and softplus on large float32 arrays, from NumPy's fast loops.

NumPy has no SIMD loop for float32 ``log1p`` and ``expm1`` (about 15 ms per 1M elements,
against 2-3 for ``log`` and ``exp``). Here each is made of fast primitives, in passes over
cache-sized blocks on all of ember's threads:

- log1p(x) = log(u) + (x - (u - 1)) / u with u = fl(1 + x): the second term is the
  rounding error of 1 + x over u, a first-order correction of the logarithm; where u = 1 it
  gives x itself (tiny inputs). Within about 4 ulp, NumPy's float32 log being within 3.5.
- expm1(x) = x P(x), a degree-6 polynomial fitted to expm1(x) / x, for |x| < ln 2, and
  exp(x) - 1 outside, where the subtraction loses at most a bit. exp is oneDNN's (5x
  NumPy's, within 2 + |x| / 25 ulp) on arrays it takes. Within 3.5 ulp for |x| < 30, 5.5
  up to the overflow at 88.7.
- softplus(x) = max(s, 0) + log1p(exp(-|s|)) with s = beta x, divided by beta; exp(-|s|)
  is in (0, 1], where log1p(e) = 2 atanh(q) = q R(q^2), q = e / (2 + e) <= 1/3, R a degree-4
  polynomial: no log at all. x itself where s > threshold, as in PyTorch. Within 5 ulp
  (of the result from s rounded to float32, as PyTorch computes it). With beta 1 and a
  threshold of at least 15 (PyTorch's defaults), from ``MIN_ONEDNN_SOFTPLUS_ELEMENTS``, the
  same formula runs as three oneDNN passes (`ember.backends.onednn.chain`) with log1p(e) as
  e times a polynomial in e (1M elements: 0.60 ms against 1.34 for the blocks, PyTorch 0.60).

Coefficients: relative minimax fits in double precision (P within 3.2e-8 of expm1(x) / x,
R within 4.5e-9 of 2 atanh(q) / q). Other dtypes, non-contiguous and small arrays take
NumPy's own functions.
"""

import math

import numpy as np

from ember.backends.numpy.select import select
from ember.backends.numpy.threads import elementwise, num_threads, over_blocks
from ember.backends.onednn import chain
from ember.backends.onednn import eltwise as onednn_eltwise

MIN_ELEMENTS = 1 << 14
"""From here the kernels take a float32 array: NumPy's log1p/expm1 take several times as
long even on one block and one thread."""

_BLOCK = 1 << 16  # a block's buffers stay in cache over its passes
_SIGN = np.int32(-(2**31))
_EXPM1_NEAR = math.log(2)
# expm1(x) / x on |x| < ln 2, constant term first
_P = (1.0, 0.5000002614809733, 0.1666664754760383, 0.04166191509937664, 0.008334254796099002,
      0.0014094147930899248, 0.00019855140969041868)  # fmt: skip
# 2 atanh(q) / q as a polynomial in q^2 on [0, 1/9], constant term first
_R = (2.0, 0.6666641628543266, 0.4002152724890354, 0.28001805144389424, 0.28011987354694295)


def fast(x):
    """Whether the kernels here take ``x``: a C-contiguous float32 array of at least
    ``MIN_ELEMENTS``."""
    return (
        x.__class__ is np.ndarray
        and x.dtype == np.float32
        and x.size >= MIN_ELEMENTS
        and x.flags.c_contiguous
    )


def _over_blocks(kernel, *arrays):
    """``kernel(*pieces)`` over blocks of ``_BLOCK`` elements of same-shaped contiguous
    arrays, on all ember's threads: a kernel here costs 15-20 passes of a float32 add, so
    splitting pays on sizes where one add's does not (``threads.for_size``)."""
    over_blocks(kernel, *arrays, block=_BLOCK, threads=num_threads())


def _exp(x, out=None):
    """exp(x) on oneDNN where it takes x, else NumPy's (split over threads when large)."""
    e = onednn_eltwise.forward("exp", x, exact=np.exp, out=out)
    return elementwise(np.exp, x, out=out) if e is None else e


def _horner(x, coefficients, out):
    """out = sum(c_i x^i) for the coefficients, constant term first."""
    np.multiply(x, coefficients[-1], out=out)
    for c in coefficients[-2:0:-1]:
        np.add(out, c, out=out)
        np.multiply(out, x, out=out)
    return np.add(out, coefficients[0], out=out)


def _log1p_block(x, out):
    u = np.add(x, 1, out=np.empty_like(x))
    np.log(u, out=out)
    c = np.subtract(u, 1, out=np.empty_like(x))
    np.subtract(x, c, out=c)
    np.divide(c, u, out=c)
    np.add(out, c, out=out)
    # x = -0 gives log(1) + -0 = +0: the result takes x's sign bit (it has x's sign anyway)
    sign = np.bitwise_and(x.view(np.int32), _SIGN, out=u.view(np.int32))
    np.bitwise_or(out.view(np.int32), sign, out=out.view(np.int32))
    # x = -1 (0 / 0) and +inf (inf - inf) make the correction NaN; NaN or x < -1 give NaN
    if not np.isfinite(np.add.reduce(out)):
        bad = ~np.isfinite(out)
        out[bad] = np.log1p(x[bad])


def log1p(x):
    """log(1 + x) elementwise, as x's dtype."""
    if not fast(x):
        return elementwise(np.log1p, x)
    out = np.empty_like(x)
    _over_blocks(_log1p_block, x, out)
    return out


def _expm1_block(x, e):
    """e = expm1(x) from e = exp(x)."""
    p = _horner(x, _P, np.empty_like(x))
    np.multiply(p, x, out=p)  # keeps the sign of x = -0
    np.subtract(e, 1, out=e)
    near = np.less(np.abs(x), _EXPM1_NEAR)  # False for NaN, which exp(x) - 1 keeps
    select(near, p, e, out=e)


def expm1(x):
    """exp(x) - 1 elementwise, as x's dtype."""
    if not fast(x):
        return elementwise(np.expm1, x)
    e = _exp(x)
    _over_blocks(_expm1_block, x, e)
    return e


def _log1p_small(e, out):
    """out = log(1 + e) for e in [0, 1]."""
    q = np.add(e, 2, out=np.empty_like(e))
    np.divide(e, q, out=q)
    _horner(np.square(q, out=np.empty_like(e)), _R, out=out)
    np.multiply(out, q, out=out)


def takes_softplus(x, threshold):
    """Whether ``softplus`` takes x and the threshold: ``fast`` x and a threshold of at most
    88. Above, PyTorch's formula log1p(exp(beta x)) / beta overflows to infinity for beta x
    between 88.7 and the threshold, where ``softplus`` would give beta x / beta."""
    return fast(x) and threshold <= 88


def softplus(x, beta, threshold):
    """log(1 + exp(beta x)) / beta elementwise, x itself where beta x > threshold, computed
    in float32 with beta and threshold rounded to it as PyTorch does, for x and a threshold
    that ``takes_softplus`` takes."""
    beta, threshold = np.float32(beta), np.float32(threshold)
    if beta == 1 and threshold >= 15 and x.size >= MIN_ONEDNN_SOFTPLUS_ELEMENTS:
        out = np.empty_like(x)
        if _softplus_on_onednn(x.reshape(-1), out.reshape(-1)):
            return out
    s = x if beta == 1 else elementwise(np.multiply, x, beta)
    e = np.bitwise_or(s.view(np.int32), _SIGN).view(np.float32)  # -|s|
    _exp(e, out=e)
    # where s > threshold >= 15, s + log1p(exp(-s)) rounds to s itself: beta = 1 needs no select
    keep_x = beta != 1 or threshold < 15

    def block(x, s, out):
        _log1p_small(out, out)
        np.add(out, np.clip(s, np.float32(0), np.float32(np.inf)), out=out)
        if beta != 1:
            np.divide(out, beta, out=out)
        if keep_x:
            select(s > threshold, x, out, out=out)

    _over_blocks(block, x, s, e)
    return e


MIN_ONEDNN_SOFTPLUS_ELEMENTS = 1 << 16
_CHUNK = 1 << 20
# log1p(e) / e on [0, 1], highest power first: a degree-9 relative minimax fit in double
# precision (within 4.9e-9), so log1p(e) = e L(e) takes no division
_LOG1P_OVER = (-0.0032433876895406693, 0.019847342708783737, -0.056949110133413215,
               0.10602277826398203, -0.15304547204635968, 0.19675472592079102,
               -0.24954014401304128, 0.3332994639012969, -0.49999901486268317,
               0.9999999951419628)  # fmt: skip

_NEGATIVE_EXP = (chain.function("abs"), chain.linear(-1, -0.0), chain.function("exp"))
_LOG1P = (*chain.horner(_LOG1P_OVER), chain.with_array("multiply"))  # e L(e)
_LARGER = (chain.with_array("maximum"), chain.with_array("maximum"))


def _softplus_on_onednn(x, out):
    """softplus(x) (beta 1, a threshold of at least 15) of flat float32 ``x`` into ``out`` in
    three oneDNN passes per chunk of ``_CHUNK`` elements: e = exp(-|x|); l = e L(e) =
    log1p(e); max(max(x + l, l), x), which is x + l where x > 0 and l elsewhere (the rounded
    max(x, 0) + log1p(exp(-|x|)) of the NumPy blocks) and carries x's NaN (softplus(x) >= x
    otherwise). oneDNN's exp flushes below -86, so elements below are computed again in
    double precision. False where oneDNN declines."""
    n = x.size
    e, logs = (np.empty(min(n, _CHUNK), np.float32) for _ in range(2))
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        xs, os, k = x[start:stop], out[start:stop], stop - start
        ek, lk = e[:k], logs[:k]
        if (
            chain.run("maximum", _NEGATIVE_EXP, xs, xs, (), ek) is None
            or chain.run("maximum", _LOG1P, ek, ek, (ek,) * (len(_LOG1P_OVER) - 1), lk) is None
            or chain.run("add", _LARGER, xs, lk, (lk, xs), os) is None
        ):
            return False
    if not x.min() >= onednn_eltwise.EXACT_FROM["exp"]:  # NaN if any element is
        flushed = ~(x >= onednn_eltwise.EXACT_FROM["exp"])
        out[flushed] = np.log1p(np.exp(x[flushed].astype(np.float64)))
    return True
