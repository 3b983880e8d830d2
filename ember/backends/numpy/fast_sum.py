"""Large floating-point sums: oneDNN's reduction, else ``einsum``'s vectorised loops split over
threads.

float32 arrays go first to oneDNN (`ember.backends.onednn.reduction`: both cores on GNU
OpenMP's spinning threads, 30 us for 1M elements against 60 here). The rest, and anything
it declines (one thread, no library), come here: NumPy's pairwise ``sum`` adds about 6
float32 elements a nanosecond on one core; ``einsum`` summing the rows of a contiguous block
runs about 3x faster, with the same order of error at these lengths. Rows are split over the
threads; a sum over every axis sums fixed blocks of ``_BLOCK`` elements, then the block
sums, so the result does not depend on the thread count.
"""

import numpy as np

from ember.backends.numpy import threads
from ember.backends.onednn import reduction as onednn_reduction

_BLOCK = 1 << 12  # einsum adds a row in SIMD lanes; short rows keep its error at pairwise level


def _row_sums(rows, out):
    """out[i] = sum of rows[i], rows of a C-contiguous 2-d array, on the pool."""
    count = threads.for_size(rows.size)
    cuts = threads._bounds(rows.shape[0], count, rows.size)

    def part(i):
        s = slice(cuts[i], cuts[i + 1])
        np.einsum("ij->i", rows[s], out=out[s])

    threads.run_chunks(part, len(cuts) - 1, count)
    return out


def _sum_last(x):
    """Sums over the last axis of a C-contiguous ``x``, shaped ``x.shape[:-1]``."""
    if onednn_reduction.usable(x):
        sums = onednn_reduction.sum_last(x)
        if sums is not None:
            return sums
    rows = x.reshape(-1, x.shape[-1])
    return _row_sums(rows, np.empty(rows.shape[0], x.dtype)).reshape(x.shape[:-1])


def _sum_all(x):
    """The sum of every element of a C-contiguous ``x``, a NumPy scalar."""
    if onednn_reduction.usable(x):
        total = onednn_reduction.sum_all(x)
        if total is not None:
            return total
    flat = x.reshape(-1)
    whole = flat.size // _BLOCK * _BLOCK
    sums = _row_sums(flat[:whole].reshape(-1, _BLOCK), np.empty(whole // _BLOCK, x.dtype))
    return np.add.reduce(sums) + np.add.reduce(flat[whole:])


def fast_sum(x, axes, keepdims):
    """``np.sum(x, axis=axes, keepdims=keepdims)`` for a large C-contiguous float32 or
    float64 ``x`` summed over its last axis or over all axes (``axes``: distinct dims); None
    for anything else."""
    if (
        x.__class__ is not np.ndarray
        or x.size < onednn_reduction.MIN_ELEMENTS  # (smaller than threads.MIN_ELEMENTS)
        or x.dtype.char not in "fd"
        or not x.flags.c_contiguous
        or (x.size < threads.MIN_ELEMENTS and not onednn_reduction.usable(x))
    ):
        return None
    ndim = x.ndim
    if len(axes) == ndim:
        total = _sum_all(x)
        return np.reshape(total, (1,) * ndim) if keepdims else total
    if len(axes) != 1 or axes[0] % ndim != ndim - 1:
        return None
    sums = _sum_last(x)
    return sums.reshape(x.shape[:-1] + (1,)) if keepdims else sums
