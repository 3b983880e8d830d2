"""Special functions on arrays (erf and friends), from SciPy."""

from scipy import special as _sp


def erf(x):
    return _sp.erf(x).astype(x.dtype, copy=False)


def erfinv(x):
    return _sp.erfinv(x).astype(x.dtype, copy=False)


def lgamma(x):
    return _sp.gammaln(x).astype(x.dtype, copy=False)


def digamma(x):
    return _sp.digamma(x).astype(x.dtype, copy=False)


def call(name, *arrays, dtype):
    """SciPy's special function ``name`` applied to ``arrays``, as ``dtype`` (None: as is)."""
    result = getattr(_sp, name)(*arrays)
    return result if dtype is None else result.astype(dtype, copy=False)
