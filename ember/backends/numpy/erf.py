"""The error function, fast in single precision.

SciPy's erf computes in double precision through a scalar loop (about 14 ns an element),
which double precision keeps and small arrays too (under ``_SMALL`` elements it beats the
fixed cost of the ~30 NumPy calls below). Larger float32 arrays (and float16, through
float32) take two polynomials: |erf(x)| is x P(x^2) for |x| <= 1 and 1 - exp(L(|x|)) beyond,
L approximating log erfc on [1, 4] (erf rounds to 1 in float32 from 3.92, where L has fallen
below -17; it goes on falling, to -inf at inf). The coefficients were fitted to SciPy's
double precision erf by iteratively reweighted least squares towards minimax: P within
1.3e-9 relative, L within 1.6e-8 once scaled by erfc (the absolute error it makes in erf).
Evaluated in float32 the result is within 1.6e-7 of erf absolute and 1.9e-7 relative, near
0 too.

From ``MIN_ONEDNN_ELEMENTS`` on, with oneDNN present, the steps run as four oneDNN passes
(`ember.backends.onednn.chain`) over chunks whose buffers stay in cache: |x|, x * x, the far
polynomial with its exp, and the near one with the choice between the two, every core on
each (1M elements: 0.69 ms against 2.1 for the NumPy passes below, PyTorch 0.58-0.63). The
first Horner step there is one fused multiply-add, so a result may differ from the NumPy
passes' by an ulp; the error bounds above hold for both.

Otherwise each polynomial step is a NumPy pass of its own, some 30 in all, over blocks of
``_BLOCK`` elements whose buffers stay in cache. From `threads.MIN_ELEMENTS` the blocks run on
all of ember's threads (an element costs some 30 passes, so splitting pays well before it
does for a single add, see `threads.split_from`; ``erf`` splits itself and is not marked
`threads.keeps_dtype`), and the exp runs in between over the whole array on oneDNN's
vectorised kernel, which costs a few passes where NumPy's float32 exp costs as much as all
of them. Smaller arrays take NumPy's exp block by block.
"""

import numpy as np
from scipy import special

from ember.backends.numpy import threads
from ember.backends.onednn import chain, eltwise

# Highest power first, for Horner's rule.
_P = (7.853859369849035e-05, -0.0008010193131350873, 0.005188327644476409,
      -0.02685381192415605, 0.1128358514874104, -0.3761262582431559,
      1.1283791657267697)  # fmt: skip
_L = (-0.0011504230034933517, 0.014778127318598844, -0.08863419777317591,
      -0.6544889099629483, -1.117438511160536, -0.0026716938079325847)  # fmt: skip

_SMALL = 1 << 13
_BLOCK = 1 << 15
_SIGN = np.int32(-(2**31))


def _horner(coefficients, t, out):
    np.multiply(t, coefficients[0], out=out)
    for c in coefficients[1:-1]:
        np.add(out, c, out=out)
        np.multiply(out, t, out=out)
    return np.add(out, coefficients[-1], out=out)


def erf(x, out=None):
    """erf(x) as x's dtype, written into ``out`` (which must not be ``x``) when given."""
    if x.dtype == np.float16 and x.size >= _SMALL:
        result = erf(x.astype(np.float32))
    elif x.dtype != np.float32 or x.size < _SMALL:
        result = special.erf(x)
    else:
        return _erf_float32(x, np.empty_like(x) if out is None else out)
    if out is None:
        return np.asarray(result, dtype=x.dtype)  # an array also for 0-d input
    np.copyto(out, result, casting="unsafe")
    return out


def _erf_float32(x, out):
    if not (x.flags.c_contiguous and out.flags.c_contiguous):
        result = _erf_float32(np.ascontiguousarray(x), np.empty(x.shape, np.float32))
        np.copyto(out, result)
        return out
    flat_out = out.reshape(-1)
    if x.size >= MIN_ONEDNN_ELEMENTS and _erf_on_onednn(x.reshape(-1), flat_out):
        return out
    large = x.size >= threads.MIN_ELEMENTS

    def over_blocks(kernel):
        workers = threads.num_threads() if large else 1
        threads.over_blocks(kernel, x, out, block=_BLOCK, threads=workers)

    if not large:  # where NumPy's exp is as fast as oneDNN's, each block at once
        over_blocks(_erf_block)
        return out
    over_blocks(_exponent)
    if eltwise.forward("exp", flat_out, out=flat_out) is None:
        over_blocks(lambda x, out: _combine(x, np.exp(out, out=out)))
    else:
        over_blocks(_combine)
    return out


MIN_ONEDNN_ELEMENTS = 1 << 15
"""From here the oneDNN passes run (32k elements: 71 us against the NumPy passes' 68; 64k: 91
against 187)."""
_CHUNK = 1 << 20


def _erf_on_onednn(x, out):
    """erf of flat float32 ``x`` into ``out`` in four oneDNN passes per chunk of ``_CHUNK``
    elements (whose three buffers stay in cache): |x|; x * x; far = 1 - exp(L(|x|)); and
    x P(x * x) clamped to [-far, far], which is the smaller in magnitude of the two
    polynomials with x's sign (see `_combine`). Where x is NaN, far is made NaN by a
    minimum with |x| (-far is below 0 <= |x| otherwise), which the clamp's minima then carry.
    Returns False where oneDNN declines (before writing anything else than ``out``)."""
    n = x.size
    a, s, far = (np.empty(min(n, _CHUNK), np.float32) for _ in range(3))
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        xs, os, k = x[start:stop], out[start:stop], stop - start
        ak, sk, fk = a[:k], s[:k], far[:k]
        if (
            chain.run("maximum", _ABS, xs, xs, (), ak) is None
            or chain.run("multiply", (), xs, xs, (), sk) is None
            or _far(ak, fk) is None
            or _near_clamped(xs, sk, fk, os) is None
        ):
            return False
    return True


_ABS = (chain.function("abs"),)
_FAR = (
    *chain.horner(_L),
    chain.function("exp"),
    chain.linear(1, -1),  # -far
    chain.with_array("minimum"),  # with |x|: NaN where x is
    chain.linear(-1, -0.0),
)
_NEAR_CLAMPED = (
    *chain.horner(_P),
    chain.with_array("multiply"),  # by x: x P(x * x)
    chain.linear(-1, -0.0),
    chain.with_array("minimum"),  # min(-near, far)
    chain.linear(-1, -0.0),  # max(near, -far)
    chain.with_array("minimum"),
)


def _far(a, out):
    return chain.run("maximum", _FAR, a, a, (a,) * (len(_L) - 1), out)


def _near_clamped(x, s, far, out):
    operands = (s,) * (len(_P) - 2) + (x, far, far)
    return chain.run("multiply", _NEAR_CLAMPED, x, x, operands, out)


def _erf_block(x, out):
    _exponent(x, out)
    _combine(x, np.exp(out, out=out))


def _exponent(x, out):
    """L(|x|) into ``out``."""
    _horner(_L, np.abs(x), out)


def _combine(x, out):
    """erf(x) into ``out``, which holds exp(L(|x|)): the smaller of |x| P(x^2) and
    1 - exp(L(|x|)), with x's sign. Each polynomial, taken beyond its interval, gives more
    than |erf| (by 1e-9 at 1 to infinity, by 1.5e-8 at 1 to 0.0027 at 0), so the minimum
    picks the one in its interval without a mask; it also keeps NaN."""
    far = np.subtract(1, out)
    s = np.square(x)
    _horner(_P, s, out)
    np.multiply(out, np.abs(x, out=s), out=out)
    np.minimum(out, far, out=out)
    bits = out.view(np.int32)
    np.bitwise_or(bits, np.bitwise_and(x.view(np.int32), _SIGN, out=s.view(np.int32)), out=bits)
