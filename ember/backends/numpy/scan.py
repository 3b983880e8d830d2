"""Cumulative sums of large float32 arrays along their last axis, through small matrix products.

``np.cumsum`` adds one element at a time, each addition waiting for the previous one to go
through memory: about 4 ns an element. Here each row is cut into blocks of about ``_BLOCK``
elements; a product with a triangular matrix of ones gives the running sums inside every
block at once (BLAS's vector lanes work on many blocks side by side), the running sums of
the block totals (found the same way, recursively) give each block's offset, and one pass
adds the offsets: about 1.7 ns an element on one core. Each result is a sum of at most
``_LONGEST_BLOCK`` rounded terms at each of a few levels instead of one of ``length``
terms, so its error is smaller than the sequential sum's.

The products also multiply each element by the triangle's zeros, which turns an infinity
into NaN at the positions before it. Every element reaches its row's total with weight one,
so a row holding an infinity or NaN (or overflowing) ends in a total that is not finite;
such rows are computed again with ``np.cumsum``, giving exactly what it gives.

Where oneDNN runs, each level's blocks are one oneDNN matrix product on every core, and the
offsets one oneDNN subtraction of the negated offsets per row (``x - (-o)`` is ``x + o``
exactly): 1M float32 elements in rows of 1024 0.69-0.72 ms instead of 1.0-1.3 (2-core
AVX-512 machine, alternating processes; PyTorch 0.41). Elsewhere each product is kept
under ``_PRODUCT_MACS`` multiply-adds, so that OpenBLAS runs it on the calling thread: its
own threads, started for larger products, made one product of 4M elements 40x slower on a
loaded 2-core machine. Blocks are split over ember's threads instead, from
`threads.MIN_ELEMENTS` (`threads.for_size` for heavy work: a scan costs about ten passes of
an add). Every block is computed the same way whatever the thread count, so the results do
not depend on it.
"""

import functools

import numpy as np

from ember.backends.numpy import threads
from ember.backends.onednn import binary as onednn_binary
from ember.backends.onednn import matmul as onednn_matmul

MIN_ELEMENTS = 1 << 16  # below, rows of thousands gained nothing (calls cost more than adds)
# From here the arrays outgrow the cache, the passes here wait on memory, and NumPy's cumsum
# split over two threads was as fast (4M elements: 8.7 ms against 10.1, 16M: 33 against 36).
MAX_ELEMENTS = 1 << 22
_BLOCK = 16  # the block length preferred: products and the offsets pass cost least
_LONGEST_BLOCK = 32
_PRODUCT_MACS = (1 << 18) - 1  # OpenBLAS uses its threads from 2^18
_PIECE = 1 << 16  # elements of a block of work handed to a thread


@functools.cache
def _ones_triangle(n, reverse, dtype):
    """(n, n) matrix whose product with a row of n values gives their running sums (from
    the end when ``reverse``)."""
    upper = np.triu(np.ones((n, n), dtype))
    return np.ascontiguousarray(upper.T) if reverse else upper


def _split(task, rows, per_task, size):
    """task(lo, hi) over ranges of at most ``per_task`` of ``rows``, on the threads from
    `threads.MIN_ELEMENTS` (256k): a scan costs some ten passes of an add, the products most
    of it, so splitting pays where one add's does not (1M elements: 0.67 ms against 0.99)."""
    count = -(-rows // per_task)

    def run(i):
        task(i * per_task, min(rows, (i + 1) * per_task))

    threads.run_chunks(run, count, threads.for_size(size, heavy=True))


def _block_sums(x, out, reverse, totals=None):
    """out = the running sums along the rows of x, both (M, n) C-contiguous, n small; and
    into ``totals`` (M,) when given, each row's total, taken while it is in cache."""
    tri = _ones_triangle(x.shape[1], reverse, x.dtype)
    if onednn_matmul.product(x, tri, out=out) is not None:  # one call on every core
        if totals is not None:
            totals[:] = out[:, 0 if reverse else -1]
        return

    def task(lo, hi):
        np.matmul(x[lo:hi], tri, out=out[lo:hi])
        if totals is not None:
            totals[lo:hi] = out[lo:hi, 0 if reverse else -1]

    _split(task, x.shape[0], max(1, _PRODUCT_MACS // x.shape[1] ** 2), x.size)


def _block_length(n):
    """The divisor of n from 8 to ``_LONGEST_BLOCK`` nearest ``_BLOCK``, or None."""
    divisors = [d for d in range(8, _LONGEST_BLOCK + 1) if n % d == 0]
    return min(divisors, key=lambda d: abs(d - _BLOCK)) if divisors else None


def _scan(x, out, reverse):
    """out = running sums along the rows of x, (M, n) C-contiguous float32 arrays."""
    m, n = x.shape
    if n <= _LONGEST_BLOCK:
        _block_sums(x, out, reverse)
        return
    block = _block_length(n)
    if block is None:  # zeros after each row, which change none of its sums
        padded = np.empty((m, n + (-n % _BLOCK)), x.dtype)
        padded[:, :n], padded[:, n:] = x, 0
        result = np.empty_like(padded)
        _scan(padded, result, reverse)
        out[...] = result[:, :n]
        return
    blocks = n // block
    inner = out.reshape(-1, block)
    totals = np.empty((m, blocks), x.dtype)
    _block_sums(x.reshape(-1, block), inner, reverse, totals.reshape(-1))
    running = np.empty_like(totals)
    _scan(totals, running, reverse)
    offsets = np.empty((m, blocks), x.dtype)  # of each block: the sum of the blocks before it
    if reverse:
        offsets[:, :-1], offsets[:, -1] = running[:, 1:], 0
    else:
        offsets[:, 1:], offsets[:, 0] = running[:, :-1], 0
    offsets = offsets.reshape(-1, 1)
    if onednn_binary.subtract_rows(inner, np.negative(offsets), inner) is not None:
        return  # x - (-offset) is x + offset exactly

    def task(lo, hi):
        np.add(inner[lo:hi], offsets[lo:hi], out=inner[lo:hi])

    _split(task, inner.shape[0], _PIECE // block, out.size)


def cumsum(x, reverse=False):
    """Running sums of ``x`` along its last axis (from the end when ``reverse``), as a new
    C-contiguous array, for a float32 ``x`` of ``MIN_ELEMENTS`` to ``MAX_ELEMENTS``; None for
    anything else (the caller's ``np.cumsum`` runs: float64 products take twice as long, and
    gained nothing over it)."""
    if (
        x.__class__ is not np.ndarray
        or x.dtype != np.float32
        or not MIN_ELEMENTS <= x.size < MAX_ELEMENTS
        or x.shape[-1] < 2
    ):
        return None
    rows = np.ascontiguousarray(x).reshape(-1, x.shape[-1])
    out = np.empty(rows.shape, x.dtype)
    _scan(rows, out, reverse)
    bad = ~np.isfinite(out[:, 0 if reverse else -1])
    if bad.any():
        again = rows[bad][:, ::-1] if reverse else rows[bad]
        again = np.cumsum(again, axis=1)
        out[bad] = again[:, ::-1] if reverse else again
    return out.reshape(x.shape)
