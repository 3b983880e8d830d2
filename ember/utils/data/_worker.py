"""What runs inside a DataLoader worker process, and what it sends back.

Protocol: the main process puts ``(task_idx, index, released)`` on the worker's own index
queue (``released`` names the worker's shared-memory files it has read and hands back),
``ResumeIteration()`` to start a new epoch (persistent workers), or ``None`` to stop. The
worker sends ``dumps((task_idx, data))`` bytes through its own result pipe (``_result_pipe``),
where ``data`` is a collated batch, an ``ExceptionWrapper``, or
``IterableDatasetStopIteration``. ``done_flag`` is a shared byte that the main process sets
when it shuts down (remaining tasks are skipped and nothing more is flushed); it is read
without a lock, so a worker killed while reading it cannot leave the main process waiting.
"""

import os
import queue
import random
import sys
import traceback

import numpy as np

from ember.utils.data import _shared_memory
from ember.utils.data._fetch import make_fetcher
from ember.utils.data._result_pipe import ResultSender

__all__ = ["WorkerInfo", "get_worker_info", "ExceptionWrapper", "worker_loop"]

# How often a waiting worker checks that its parent is still alive (seconds).
POLL_INTERVAL = 0.5

_worker_info = None


class WorkerInfo:
    """``id``, ``num_workers``, ``seed`` and ``dataset`` (this worker's copy), read-only."""

    def __init__(self, **kwargs):
        for k, v in kwargs.items():
            object.__setattr__(self, k, v)
        object.__setattr__(self, "_keys", tuple(kwargs))

    def __setattr__(self, key, val):
        raise RuntimeError(f"Cannot assign attributes to {type(self).__name__} objects")

    def __repr__(self):
        items = ", ".join(f"{k}={getattr(self, k)}" for k in self._keys)
        return f"{type(self).__name__}({items})"


def get_worker_info():
    """This worker's WorkerInfo inside a DataLoader worker process, ``None`` elsewhere."""
    return _worker_info


class IterableDatasetStopIteration:
    def __init__(self, worker_id):
        self.worker_id = worker_id


class ResumeIteration:
    pass


class _KeyErrorMessage(str):
    """KeyError shows repr() of its message; this keeps the traceback's newlines readable."""

    def __repr__(self):
        return self


class ExceptionWrapper:
    """An exception with its traceback text, to be raised again in another process."""

    def __init__(self, exc_info=None, where="in background"):
        exc_info = exc_info or sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = _KeyErrorMessage(msg)
        try:
            exc = self.exc_type(msg)
        except Exception:
            raise RuntimeError(msg) from None
        raise exc


def _seed_worker(seed, base_seed, worker_id):
    """Seed ember's, Python's and NumPy's global generators, distinct for every worker."""
    import ember

    ember.manual_seed(seed)
    random.seed(seed)
    np.random.seed(np.random.SeedSequence([worker_id, base_seed]).generate_state(4))


def _send(sender, idx, data, worker_id):
    try:
        payload = _shared_memory.dumps((idx, data))
    except Exception:
        if isinstance(data, ExceptionWrapper):
            data.exc_type = RuntimeError  # the exception class itself cannot be pickled
        else:
            data = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
        payload = _shared_memory.dumps((idx, data))
    sender.send(payload)


def worker_loop(
    iterable,
    dataset,
    index_queue,
    result_conn,
    done_flag,
    auto_collation,
    collate_fn,
    drop_last,
    base_seed,
    init_fn,
    worker_id,
    num_workers,
    shm_prefix,
):
    global _worker_info
    parent = os.getppid()
    sender = ResultSender(result_conn)
    try:
        seed = base_seed + worker_id
        _seed_worker(seed, base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
        _shared_memory.start_worker(worker_id, shm_prefix)
        where = f"in DataLoader worker process {worker_id}"

        def start():
            """A fetcher for a new epoch, or the error that prevents one."""
            try:
                return make_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last)
            except Exception:
                return ExceptionWrapper(where=where)

        try:
            if init_fn is not None:
                init_fn(worker_id)
        except Exception:
            init_error = ExceptionWrapper(where=where)
        else:
            init_error = None
        fetcher = init_error or start()
        iteration_end = False
        while os.getppid() == parent:
            try:
                r = index_queue.get(timeout=POLL_INTERVAL)
            except queue.Empty:
                continue
            if isinstance(r, ResumeIteration):
                _send(sender, r, None, worker_id)
                iteration_end = False
                fetcher = init_error or start()
                continue
            if r is None:
                break
            idx, index, released = r
            _shared_memory.release(released)
            if done_flag.value or iteration_end:
                continue
            if isinstance(fetcher, ExceptionWrapper):
                data = fetcher
            else:
                try:
                    data = fetcher.fetch(index)
                except StopIteration:
                    if not iterable:
                        data = ExceptionWrapper(where=where)
                    else:
                        data = IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                except Exception:
                    data = ExceptionWrapper(where=where)
            _send(sender, idx, data, worker_id)
            del data, idx, index, r
    except KeyboardInterrupt:
        pass  # the main process sees the interrupt and shuts the workers down
    orphaned = os.getppid() != parent
    if not (done_flag.value or orphaned):
        sender.flush()  # otherwise nobody reads what is still queued: do not wait for it
    if orphaned and shm_prefix is not None:
        _shared_memory.remove_all(shm_prefix)  # nobody else is left to do it
