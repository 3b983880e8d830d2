"""float32 matrix products on oneDNN's matmul primitive, on the same thread pool as the rest.

ember's other multi-threaded kernels (convolutions, pooling, recurrent layers, element-wise
functions, normalisations) run on GNU OpenMP's pool through oneDNN. NumPy's products ran on
OpenBLAS's own pool, whose idle workers keep a core busy for about a tenth of a second after
each product: every oneDNN kernel between two products then shared its cores with them (a
layer norm after a product took 0.3 ms instead of 0.06 on a 2-core machine), and shortening
their wait made each product pay a wake-up instead. With the products here too, one pool
runs everything, as in PyTorch, and OpenBLAS stays on the calling thread (`blas_pool`).
A small GPT's training step went from 63 to 50 ms and a 2-layer Transformer's from 57 to 43
(PyTorch 50 and 45) on a 2-core AVX-512 machine.

`product` takes float32 arrays of at least ``MIN_MACS`` multiply-adds: two matrices, or
stacks of them with the same batch dims (either side may also be one matrix shared by the
stack), in any strides whose rows or columns are contiguous. Anything else, or a library
that declines, gives None and the caller's NumPy product runs.
"""

import ctypes
import math

import numpy as np

from ember import _runtime
from ember.backends.numpy import blas_pool
from ember.backends.onednn import library

MIN_MACS = 1 << 20
"""Smaller products (some 30 us on one core) stay on NumPy, on the calling thread."""

_cache = library.RecentlyUsed(64)
_REFUSED = object()  # cached where oneDNN refused a layout


def _declare():
    library._lib.dnnl_matmul_primitive_desc_create.argtypes = [ctypes.c_void_p] * 7


if library.available():
    _declare()


def keep_blas_on_calling_thread():
    """Set each OpenBLAS loaded so far (NumPy's, SciPy's) to one thread where oneDNN runs
    the products worth threads. ember calls it once its import has loaded them."""
    if library.available():
        blas_pool.set_threads(1)


class _Plan:
    """The primitive for one pair of operand layouts, and a runner bound to them."""

    def __init__(self, a_dims, a_strides, b_dims, b_strides, c_dims, c_strides):
        lib = library._lib
        self.a = library.Desc(a_dims, a_strides)
        self.b = library.Desc(b_dims, b_strides)
        self.c = library.Desc(c_dims, c_strides)
        primitive = library.Primitive(
            lambda out: lib.dnnl_matmul_primitive_desc_create(
                out, library._engine, self.a.handle, self.b.handle, None, self.c.handle, None
            )
        )
        if primitive.scalar_code():
            raise library.Refused("no vectorised oneDNN matmul for these layouts")
        self.runner = library.Runner(
            primitive,
            [
                (library.ARG_SRC, self.a.handle),
                (library.ARG_WEIGHTS, self.b.handle),
                (library.ARG_DST, self.c.handle),
            ],
        )


def _plan(*layouts):
    try:
        return _Plan(*layouts)
    except library.Refused:
        return _REFUSED


def _is_plain(a):
    """Whether oneDNN reads ``a`` (..., rows, cols) where it lies: strides positive, whole
    elements, rows or columns contiguous."""
    if not all(s > 0 and s % 4 == 0 for s in a.strides):
        return False
    rows, cols = a.strides[-2] // 4, a.strides[-1] // 4
    return (cols == 1 and rows >= a.shape[-1]) or (rows == 1 and cols >= a.shape[-2])


def _plain_strides(a):
    """(``a``, or a C-contiguous copy where oneDNN cannot read it; its element strides)."""
    if not _is_plain(a):
        a = np.ascontiguousarray(a)
    return a, [s // 4 for s in a.strides]


def _usable(a, b):
    """Whether `product` takes these operands (dtype, rank and size; not layout)."""
    if not (library.available() and a.dtype == np.float32 and b.dtype == np.float32):
        return False
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
        return False
    batch_a, batch_b = a.shape[:-2], b.shape[:-2]
    if batch_a and batch_b and batch_a != batch_b:
        return False
    stack = math.prod(batch_a or batch_b)
    return stack * a.shape[-2] * a.shape[-1] * b.shape[-1] >= MIN_MACS and a.size and b.size


def product(a, b, out=None):
    """``a @ b`` as a new C-contiguous float32 array, or written into ``out`` (float32, of the
    result's shape, rows or columns contiguous) and returned; None where this module
    declines (``out`` is then untouched)."""
    if a.__class__ is not np.ndarray or b.__class__ is not np.ndarray:
        return None
    if a.ndim == 2 and b.ndim == 2 and a.shape[0] * a.shape[1] * b.shape[1] < MIN_MACS:
        return None  # (the common small case, before `_usable`'s other checks)
    if not _usable(a, b):
        return None
    batch = a.shape[:-2] or b.shape[:-2]
    m, n = a.shape[-2], b.shape[-1]
    if out is not None and not _writable_result(out, (*batch, m, n), a, b):
        return None
    if b.ndim == 2 and a.ndim > 2 and a.flags.c_contiguous and out is None:  # one tall product
        rows = product(a.reshape(-1, a.shape[-1]), b)
        return None if rows is None else rows.reshape(*batch, m, n)
    a, a_strides = _plain_strides(a)
    b, b_strides = _plain_strides(b)
    # a matrix shared by a stack is a stack of one, which oneDNN broadcasts
    a_dims = (1,) * (len(batch) + 2 - a.ndim) + a.shape
    b_dims = (1,) * (len(batch) + 2 - b.ndim) + b.shape
    a_strides = [a.size] * (len(a_dims) - a.ndim) + a_strides
    b_strides = [b.size] * (len(b_dims) - b.ndim) + b_strides
    c_dims = (*batch, m, n)
    if out is None:
        out = np.empty(c_dims, np.float32)
    c_strides = [s // 4 for s in out.strides]
    layouts = (a_dims, tuple(a_strides), b_dims, tuple(b_strides), c_dims, tuple(c_strides))
    plan = _cache.get((*layouts, _runtime.get_num_threads()), lambda: _plan(*layouts))
    if plan is _REFUSED:
        return None
    plan.runner.run(a, b, out)
    return out


def matmul(a, b):
    """``a @ b``: `product` where it takes the operands, else NumPy's."""
    found = product(a, b)
    return np.matmul(a, b) if found is None else found


def _writable_result(out, shape, a, b):
    return (
        out.__class__ is np.ndarray
        and out.dtype == np.float32
        and out.shape == shape
        and out.flags.writeable
        and _is_plain(out)
        and not np.may_share_memory(out, a)
        and not np.may_share_memory(out, b)
    )
