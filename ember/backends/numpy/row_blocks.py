"""Running a row-wise NumPy computation on disjoint row blocks of a large array at once.

NumPy releases the GIL inside its loops, so Python threads working on disjoint row blocks
use all cores. Memory-bound fused kernels (layer norm, cross-entropy) on large inputs run
about twice as fast this way; small inputs stay on one thread, where the hand-off would cost
more than it saves. The caller says how many threads it may use.
"""

import os
from concurrent.futures import ThreadPoolExecutor

_MIN_ELEMENTS = 1 << 20
_BLOCK_ELEMENTS = 1 << 18  # a block's arrays stay in cache between its passes
_pool = None  # (thread count, executor), made on first use


def _reset_after_fork():
    """Pool threads do not survive fork; a child starts its own pool when it needs one."""
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_reset_after_fork)


def over_rows(fn, rows, elements, threads=1):
    """Call fn(lo, hi) over row blocks covering range(rows), on up to ``threads`` threads.

    Each thread takes a contiguous share of the rows and walks it in cache-sized blocks, so
    the several passes fn makes over a block read it from cache after the first.
    """
    threads = max(1, int(threads))
    if elements < _MIN_ELEMENTS:
        fn(0, rows)
        return
    block = max(1, _BLOCK_ELEMENTS * rows // elements)
    # Emptied on return: a pool thread keeps its finished work item (and so ``share``) a
    # moment after the caller resumes, and must not keep fn's arrays alive with it.
    work = [fn]

    def share(lo, hi):
        run = work[0]
        for start in range(lo, hi, block):
            run(start, min(start + block, hi))

    if threads == 1 or rows < 2 * threads:
        share(0, rows)
        return
    global _pool
    if _pool is None or _pool[0] != threads:
        if _pool is not None:
            _pool[1].shutdown(wait=False)
        _pool = (threads, ThreadPoolExecutor(threads, thread_name_prefix="ember-rows"))
    step = -(-rows // threads)
    futures = [_pool[1].submit(share, lo, min(lo + step, rows)) for lo in range(0, rows, step)]
    try:
        for f in futures:
            f.result()
    finally:
        work.clear()
