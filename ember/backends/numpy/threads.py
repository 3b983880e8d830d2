"""Elementwise NumPy work, reductions and scans on large arrays, split over several threads.

NumPy releases the GIL inside its ufunc loops, so threads computing disjoint pieces of one
output use all cores, as PyTorch's kernels do. Arrays under ``MIN_ELEMENTS`` take one plain
call: there the hand-off would cost more than it saves, and the size check is the only
overhead a small tensor pays. ``ember.set_num_threads`` sets how many threads run.

Each piece is computed by the same NumPy loop as a single call would use, so the result is
bit-identical whatever the thread count: pieces are slabs along one axis of the output
(contiguous when the operands are), cut at multiples of 64 elements when the arrays are
flattened, so SIMD loops see the same alignment; reductions over every axis combine blocks
of a fixed size.
"""

import contextvars
import itertools
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ember import _runtime

# Handing chunks to the pool and collecting them costs about 20 us on some machines (a float32
# add takes about 0.15 ns an element on one core, so halving it pays from ~300k) and several
# hundred on others: virtual machines whose idle cores sleep deeply, cores that share no cache.
# Below MIN_ELEMENTS nothing is split; from there, what this machine pays is measured once
# (`split_from`).
MIN_ELEMENTS = 1 << 18
_LARGE = 1 << 22  # where splitting starts when it does not pay at 1M elements
_split_from = None
_ALIGN = 64
_PIECE_ELEMENTS = 1 << 16
_pool = None  # (worker count, executor), made on first use
_pool_lock = threading.Lock()
_local = threading.local()


def _reset_after_fork():
    """Pool threads do not survive fork; a child makes its own pool when it needs one."""
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_reset_after_fork)


def num_threads():
    """The threads a large elementwise op may use: ``ember.get_num_threads()``, or 1 inside a
    pool thread (a nested split would wait on the pool it runs in)."""
    return 1 if getattr(_local, "worker", False) else _runtime.get_num_threads()


# Ufuncs whose float loops take a nanosecond or more an element (NumPy's float32 log, sin and
# tanh 2-3 ms per 1M elements, its arctan 10): from MIN_ELEMENTS each call is worth several
# hand-offs even where waking a pool thread is slow, so they split from there (`for_size`).
_HEAVY = frozenset({
    np.exp, np.exp2, np.expm1, np.log, np.log2, np.log10, np.log1p, np.sin, np.cos, np.tan,
    np.arcsin, np.arccos, np.arctan, np.arctan2, np.sinh, np.cosh, np.tanh, np.arcsinh,
    np.arccosh, np.arctanh, np.cbrt, np.logaddexp, np.logaddexp2,
})  # fmt: skip


def for_size(size, heavy=False):
    """The threads to split work on ``size`` elements over: `num_threads()`, or 1 below the
    size where splitting pays on this machine (`split_from`; for ``heavy`` work, where an
    element costs a nanosecond or more, `MIN_ELEMENTS`)."""
    threads = num_threads()
    if threads == 1 or size < MIN_ELEMENTS:
        return 1
    return threads if heavy or size >= split_from() else 1


def split_from():
    """The elements from which splitting elementwise work pays here: ``MIN_ELEMENTS`` where
    splitting a float32 add of 1M elements over the threads takes at most 80% of one call's
    time (best of 5 each, measured once per process: 16 ms with the pool's start), else
    ``_LARGE``. Results do not depend on it: every split computes the same bits as one call."""
    global _split_from
    if _split_from is None:
        a = np.ones(1 << 20, np.float32)
        out = np.empty_like(a)
        threads = max(2, num_threads())

        def whole():
            np.add(a, a, out=out)

        def split():
            _split(np.add, (a, a), out, threads)

        _split_from = MIN_ELEMENTS if _best(split) <= 0.8 * _best(whole) else _LARGE
    return _split_from


def _best(fn, runs=5):
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _run_in_worker(fn, *args):
    _local.worker = True
    try:
        return fn(*args)
    finally:
        _local.worker = False


def _executor(workers):
    """A pool of at least ``workers`` threads. A larger one replaces it when needed; the old
    one is not shut down (another thread may be submitting to it) and its idle threads end
    when it is collected."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] < workers:
            _pool = (workers, ThreadPoolExecutor(workers, thread_name_prefix="ember-elementwise"))
        return _pool[1]


def run_chunks(task, count, threads):
    """Call task(i) for i in range(count) on up to ``threads`` threads, this one included.

    The threads take the next index until none is left, so a pool thread the OS has not
    scheduled yet (on a busy machine) leaves its share to the others instead of holding the
    caller up; one that has not started when the work is done is cancelled. Each runs in a
    copy of the caller's context, so NumPy's error state (``np.errstate``, which ember sets to
    ignore overflow and division by zero) is the caller's there too."""
    threads = min(threads, count)
    if threads <= 1:
        for i in range(count):
            task(i)
        return
    indices = itertools.count()
    # Emptied on return: a pool thread keeps its finished work item (and so ``drain``) a
    # moment after the caller resumes, and must not keep the task's arrays alive with it.
    work = [task]

    def drain():
        run = work[0]
        i = next(indices)
        while i < count:
            run(i)
            i = next(indices)

    pool = _executor(threads - 1)
    futures = [
        pool.submit(contextvars.copy_context().run, _run_in_worker, drain)
        for _ in range(threads - 1)
    ]
    try:
        drain()
    finally:
        for f in futures:
            if not f.cancel():
                f.result()
        work.clear()


def over_blocks(kernel, *arrays, block=1 << 16, threads=None):
    """``kernel(*pieces)`` over matching blocks of ``block`` elements of same-shaped
    C-contiguous arrays (the operands and the outputs a fused kernel writes), on several
    threads when large (``threads``, default `for_size`'s count: a kernel of many passes
    pays for the hand-off at sizes where one add does not). Each block's buffers stay in
    cache over the kernel's passes; the blocks do not depend on the thread count, so neither
    do the results."""
    flat = [a.reshape(-1) for a in arrays]
    size = flat[0].size
    if size <= block:
        kernel(*flat)
        return

    def piece(i):
        s = slice(i * block, (i + 1) * block)
        kernel(*(f[s] for f in flat))

    run_chunks(piece, -(-size // block), for_size(size) if threads is None else threads)


def _bounds(length, threads, elements, align=1):
    """Cut points over range(length) (inner ones at multiples of ``align``) giving up to four
    pieces per thread, each of at least ``_PIECE_ELEMENTS`` of the ``elements`` in all."""
    parts = max(threads, min(4 * threads, elements // _PIECE_ELEMENTS))
    step = max(1, -(-length // parts))
    step = -(-step // align) * align
    return [*range(0, length, step), length] if length else [0, 0]


def _split_axis(shape, threads):
    """The outermost axis long enough to give every thread a slab, or None."""
    for axis, n in enumerate(shape):
        if n >= threads:
            return axis
    return None


def keeps_dtype(fn):
    """Mark ``fn(x, out=None)``, an elementwise function that is no ufunc, as giving its
    input's dtype, so that ``elementwise`` can split it into chunks."""
    fn.keeps_dtype = True
    return fn


def _result_dtype(fn, operands, dtype):
    if dtype is not None:
        return np.dtype(dtype)
    if isinstance(fn, np.ufunc):
        if fn.nout != 1:
            return None
        given = [o.dtype if isinstance(o, np.ndarray | np.generic) else type(o) for o in operands]
        return fn.resolve_dtypes((*given, None))[-1]
    if getattr(fn, "keeps_dtype", False):
        return next(o.dtype for o in operands if isinstance(o, np.ndarray))
    return None


def elementwise(fn, *operands, out=None, dtype=None):
    """``fn(*operands, out=out)`` for an elementwise ``fn``, on several threads when large.

    ``fn`` is a NumPy ufunc, a function marked with ``keeps_dtype``, or another elementwise
    function taking ``out=`` whose result dtype is given as ``dtype``; anything else, or
    operands that do not split, run as one call. Python numbers pass through unchanged.
    """
    for o in operands:
        if o.__class__ is np.ndarray and o.size >= MIN_ELEMENTS:
            break
    else:
        return fn(*operands) if out is None else fn(*operands, out=out)
    threads = for_size(o.size, fn in _HEAVY)
    if threads > 1:
        shape = np.broadcast_shapes(*(o.shape for o in operands if isinstance(o, np.ndarray)))
        result = _result_dtype(fn, operands, dtype)
        if result is not None and (out is None or out.shape == shape):
            if out is None:
                out = np.empty(shape, result)
            _split(fn, operands, out, threads)
            return out
    return fn(*operands) if out is None else fn(*operands, out=out)


def _split(fn, operands, out, threads):
    shape = out.shape
    flat = out.flags.c_contiguous and all(
        not isinstance(o, np.ndarray) or (o.shape == shape and o.flags.c_contiguous)
        for o in operands
    )
    if flat:
        views = [o.reshape(-1) if isinstance(o, np.ndarray) else o for o in operands]
        target = out.reshape(-1)
        cuts = _bounds(target.size, threads, target.size, _ALIGN)

        def chunk(i):
            s = slice(cuts[i], cuts[i + 1])
            fn(*(v[s] if isinstance(v, np.ndarray) else v for v in views), out=target[s])

        run_chunks(chunk, len(cuts) - 1, threads)
        return
    axis = _split_axis(shape, threads)
    if axis is None:
        fn(*operands, out=out)
        return
    full = [np.broadcast_to(o, shape) if isinstance(o, np.ndarray) else o for o in operands]
    cuts = _bounds(shape[axis], threads, out.size)
    lead = (slice(None),) * axis

    def slab(i):
        s = (*lead, slice(cuts[i], cuts[i + 1]))
        fn(*(v[s] if isinstance(v, np.ndarray) else v for v in full), out=out[s])

    run_chunks(slab, len(cuts) - 1, threads)


_REDUCE_BLOCK = 1 << 16  # a full reduction sums blocks of this size, then the block results


def reduction(fn, x, axis, keepdims=False):
    """``fn(x, axis=axis, keepdims=keepdims)`` for a NumPy reduction such as ``np.sum`` or
    ``np.max``, on several threads when ``x`` is large and floating point.

    Rows are split along the outermost axis the reduction keeps; a reduction over every axis
    of a contiguous array reduces fixed blocks of ``_REDUCE_BLOCK`` elements, then the block
    results. The blocks do not depend on the thread count, so neither does the result.
    """
    if x.__class__ is not np.ndarray or x.size < MIN_ELEMENTS or x.dtype.kind != "f":
        return fn(x, axis=axis, keepdims=keepdims)
    axes = tuple(a % x.ndim for a in axis)
    threads = for_size(x.size)
    if 0 not in axes:
        return _over_leading_axis(fn, x, threads, axis=axes, keepdims=keepdims)
    if len(axes) != x.ndim or not x.flags.c_contiguous:
        return fn(x, axis=axis, keepdims=keepdims)
    flat = x.reshape(-1)
    whole = flat.size // _REDUCE_BLOCK * _REDUCE_BLOCK
    blocks = flat[:whole].reshape(-1, _REDUCE_BLOCK)
    partial = np.empty(blocks.shape[0] + (whole < flat.size), x.dtype)
    if whole < flat.size:
        partial[-1] = fn(flat[whole:])
    cuts = _bounds(blocks.shape[0], threads, blocks.size)

    def part(i):
        s = slice(cuts[i], cuts[i + 1])
        fn(blocks[s], axis=1, out=partial[s])

    run_chunks(part, len(cuts) - 1, threads)
    result = fn(partial)
    return np.reshape(result, (1,) * x.ndim) if keepdims else result


def _over_leading_axis(fn, x, threads, split=0, target=None, **kwargs):
    """fn(x, **kwargs) for an fn that treats the slices of x along axis ``split``
    independently and keeps that axis, computed on slabs of them over the threads (into
    ``target`` when given)."""
    lead = (slice(None),) * split
    out = target
    if out is None:
        out = fn(x[(*lead, slice(0, 1))], **kwargs)  # the shape and dtype of one slice's result
        out = np.empty((*out.shape[:split], x.shape[split], *out.shape[split + 1 :]), out.dtype)
    cuts = _bounds(x.shape[split], threads, x.size)

    def slab(i):
        s = (*lead, slice(cuts[i], cuts[i + 1]))
        fn(x[s], **kwargs, out=out[s])

    run_chunks(slab, len(cuts) - 1, threads)
    return out


def along_axis(fn, x, axis, out=None, **kwargs):
    """``fn(x, axis=axis, **kwargs)`` for a NumPy function that works along one axis and
    keeps the others (``np.cumsum``), split over the threads along another axis when large;
    written into ``out`` (of the result's shape and dtype) when given.
    """
    if out is not None:
        kwargs["out"] = out
    threads = for_size(x.size) if x.__class__ is np.ndarray else 1
    if threads == 1:
        return fn(x, axis=axis, **kwargs)
    axis %= x.ndim
    split = next((a for a in range(x.ndim) if a != axis and x.shape[a] >= threads), None)
    if split is None:
        return fn(x, axis=axis, **kwargs)
    kwargs.pop("out", None)
    return _over_leading_axis(fn, x, threads, split, out, axis=axis, **kwargs)
