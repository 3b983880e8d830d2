"""Special functions on arrays, from SciPy (erf itself has ember's own float32 kernel)."""

from scipy import special as _sp


def erfinv(x):
    return _sp.erfinv(x).astype(x.dtype, copy=False)


def call(name, *arrays, dtype):
    """SciPy's special function ``name`` applied to ``arrays``, as ``dtype`` (None: as is)."""
    result = getattr(_sp, name)(*arrays)
    return result if dtype is None else result.astype(dtype, copy=False)
