"""float32 add, subtract, multiply and divide of large arrays on oneDNN's binary primitive.

NumPy runs each on one core, and ember's own threads only pay from several million elements
on machines whose idle threads sleep deeply (see ``ember.backends.numpy.threads``). oneDNN
shares the work among GNU OpenMP's threads, which spin for a while between calls (see
``library.OPENMP_SPIN_ROUNDS``), as PyTorch's kernels do. Its results are the same IEEE
operations NumPy computes, so equal bit for bit (NaN payloads aside). Used for two
C-contiguous float32 arrays of one shape, or such an array and a Python number, of at least
``MIN_ELEMENTS``, when ember runs more than one thread; anything else gives None and the
caller's NumPy code runs.
"""

import ctypes

import numpy as np

from ember import _runtime
from ember.backends.onednn import library

ALGORITHMS = {np.add: 0x1FFF0, np.multiply: 0x1FFF1, np.true_divide: 0x1FFF4, np.subtract: 0x1FFF5}
"""oneDNN's dnnl_alg_kind_t of each NumPy function taken here."""

MIN_ELEMENTS = 1 << 20
"""From here oneDNN is faster (2-core AVX2 machine, medians of interleaved calls through
ember: add of 1M 0.29 ms in NumPy against 0.22, multiply by a number 0.19 against 0.16; 512k
level at 0.12, 256k 0.076 against 0.090)."""

_EXACT_INTS = 1 << 24  # Python ints up to this are float32 values exactly, as NumPy casts them
_ARG_SRC_1 = 2  # DNNL_ARG_SRC_1, the second operand
_cache = library.RecentlyUsed(32)


def _declare():
    library._lib.dnnl_binary_primitive_desc_create.argtypes = (
        [ctypes.c_void_p] * 2 + [ctypes.c_int] + [ctypes.c_void_p] * 4
    )


if library.available():
    _declare()


class _Kernel:
    """The primitive of one function on flat arrays of ``n`` elements, the second operand
    either of the same size or one element (a scalar, broadcast); its ``runner`` is None
    where oneDNN refuses them."""

    def __init__(self, algorithm, n, scalar):
        lib = library._lib
        self.mds = [library.Desc((n,), tag=library.TAG_A)]
        self.mds.append(library.Desc((1,), tag=library.TAG_A) if scalar else self.mds[0])
        whole, second = (md.handle for md in self.mds)
        self.runner = None
        try:
            primitive = library.Primitive(
                lambda pd: lib.dnnl_binary_primitive_desc_create(
                    pd, library._engine, algorithm, whole, second, whole, None
                )
            )
        except library.Refused:
            return
        self.runner = library.Runner(
            primitive,
            [(library.ARG_SRC, whole), (_ARG_SRC_1, second), (library.ARG_DST, whole)],
        )


def _operand(x, size):
    """``x`` as a flat float32 array oneDNN reads, or None."""
    if x.__class__ is float or (x.__class__ is int and abs(x) <= _EXACT_INTS):
        return np.array([x], np.float32)
    if (
        x.__class__ is np.ndarray
        and x.dtype == np.float32
        and x.size == size
        and x.flags.c_contiguous
    ):
        return x.reshape(-1)
    return None


def compute(fn, a, b):
    """``fn(a, b)`` as a new float32 array, or None where it declines."""
    algorithm = ALGORITHMS.get(fn)
    if (
        algorithm is None
        or a.__class__ is not np.ndarray
        or a.size < MIN_ELEMENTS
        or not library.available()
        or _runtime.get_num_threads() < 2
    ):
        return None
    first, second = _operand(a, a.size), _operand(b, a.size)
    if first is None or second is None or (b.__class__ is np.ndarray and b.shape != a.shape):
        return None
    scalar = second.size == 1
    key = (algorithm, a.size, scalar, _runtime.get_num_threads())
    kernel = _cache.get(key, lambda: _Kernel(algorithm, a.size, scalar))
    if kernel.runner is None:
        return None
    out = np.empty(a.shape, np.float32)
    kernel.runner.run(first, second, out.reshape(-1))
    return out
