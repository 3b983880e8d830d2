"""Stacks of small float32 matrix products on oneDNN's matmul primitive.

NumPy computes ``a @ b`` for a stack of matrices as one BLAS call per matrix, and OpenBLAS
runs each small product on the calling thread alone (two Python threads calling it at once
gain nothing: measured), so attention's per-head products (64 x 32 by 32 x 64) use one core.
oneDNN's matmul takes the stack as one problem with batch dimensions and any strides (a
transposed key is read in place) and shares it among its OpenMP threads: 0.18 ms against
NumPy's 0.34 for the (16, 4, 64, 32) @ (16, 4, 32, 64) scores of a small GPT (PyTorch 0.15),
on a 2-core AVX2 machine. Used for float32 stacks of one batch shape whose matrices are at
most ``MAX_MATRIX_MACS`` multiply-adds and whose total is at least ``MIN_STACK_MACS``;
anything else, or a library that declines, gives None and the caller's NumPy code runs.
"""

import numpy as np

from ember import _runtime
from ember.backends.onednn import library

MAX_MATRIX_MACS = 1 << 23
"""Up to here oneDNN was faster on every stack measured (2^20 multiply-adds per product:
0.59 ms against 0.85; 2^23: 1.25 against 1.66); at 2^24 they are level, at 2^27 NumPy is
faster."""

MIN_STACK_MACS = 1 << 21
"""Smaller stacks cost less in NumPy than the call and OpenMP's hand-off (2^21: 0.12 ms
against 0.13; 2^16: 0.05 against 0.01)."""

_cache = library.RecentlyUsed(64)


def _usable(a, b):
    if not (
        library.available()
        and a.__class__ is np.ndarray
        and b.__class__ is np.ndarray
        and a.dtype == np.float32
        and b.dtype == np.float32
        and a.ndim == b.ndim >= 3
        and a.shape[:-2] == b.shape[:-2]
        and a.shape[-1] == b.shape[-2]
    ):
        return False
    macs = a.shape[-2] * a.shape[-1] * b.shape[-1]
    return (
        0 < macs <= MAX_MATRIX_MACS
        and a.size // (a.shape[-2] * a.shape[-1]) * macs >= MIN_STACK_MACS
        and library.describable(a)
        and library.describable(b)
    )


class _Product:
    """The primitive for one set of shapes and layouts, bound to its memory objects; its
    ``runner`` is None where oneDNN refuses them or has only unvectorised code for them."""

    def __init__(self, a, b, out):
        lib = library._lib
        self.mds = [library.Desc.of(x) for x in (a, b, out)]
        src, weights, dst = (md.handle for md in self.mds)
        self.runner = None
        try:
            primitive = library.Primitive(
                lambda pd: lib.dnnl_matmul_primitive_desc_create(
                    pd, library._engine, src, weights, None, dst, None
                )
            )
        except library.Refused:
            return
        if not primitive.scalar_code():
            self.runner = library.Runner(
                primitive,
                [(library.ARG_SRC, src), (library.ARG_WEIGHTS, weights), (library.ARG_DST, dst)],
            )


def matmul(a, b, out=None):
    """``a @ b`` into ``out`` (a new C-contiguous array if None), or None where it declines."""
    if not _usable(a, b):
        return None
    if out is None:
        out = np.empty(a.shape[:-1] + b.shape[-1:], np.float32)
    elif not library.describable(out):
        return None
    key = (a.shape, a.strides, b.shape, b.strides, out.strides, _runtime.get_num_threads())
    product = _cache.get(key, lambda: _Product(a, b, out))
    if product.runner is None:
        return None
    product.runner.run(a, b, out)
    return out
