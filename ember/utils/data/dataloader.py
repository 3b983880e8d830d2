"""DataLoader: batches from a dataset, in the main process or in worker processes."""

import collections
import multiprocessing
import multiprocessing.connection
import multiprocessing.context
import os
import secrets
import signal
import sys
import time
import warnings
import weakref

from ember import cuda
from ember._random import np_generator
from ember.utils.data import _shared_memory
from ember.utils.data._fetch import make_fetcher
from ember.utils.data._result_pipe import ResultReceiver
from ember.utils.data._worker import (
    ExceptionWrapper,
    IterableDatasetStopIteration,
    ResumeIteration,
    worker_loop,
)
from ember.utils.data.collate import default_collate, default_convert
from ember.utils.data.dataset import IterableDataset
from ember.utils.data.sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader"]

# How often the main process checks that its workers are alive while it waits (seconds).
STATUS_CHECK_INTERVAL = 0.2
# How long shutdown waits for workers to exit on their own before terminating them.
JOIN_TIMEOUT = 2.0


class _InfiniteConstantSampler(Sampler):
    """The sampler of an IterableDataset: ``None`` forever (the data decides when to stop)."""

    def __iter__(self):
        while True:
            yield None


def _default_context():
    if sys.platform == "linux":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


class DataLoader:
    """Combines a dataset and a sampler, and iterates over batches of it.

    With ``num_workers > 0`` each batch is loaded by one of ``num_workers`` worker processes;
    batches come back in the sampler's order whatever the workers' speed. See PyTorch's
    ``torch.utils.data.DataLoader`` for the arguments; ``pin_memory`` has no effect on CPU.
    """

    _initialized = False

    def __init__(
        self,
        dataset,
        batch_size=1,
        shuffle=None,
        sampler=None,
        batch_sampler=None,
        num_workers=0,
        collate_fn=None,
        pin_memory=False,
        drop_last=False,
        timeout=0,
        worker_init_fn=None,
        multiprocessing_context=None,
        generator=None,
        *,
        prefetch_factor=None,
        persistent_workers=False,
        pin_memory_device="",
        in_order=True,
    ):
        if num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; use num_workers=0 "
                "to disable multiprocessing."
            )
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError(
                "prefetch_factor option could only be specified in multiprocessing. let "
                "num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None."
            )
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in {False, None}:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified shuffle option, but "
                    f"got shuffle={shuffle}"
                )
            if sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified sampler option, but "
                    f"got sampler={sampler}"
                )
            if batch_sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified batch_sampler "
                    f"option, but got batch_sampler={batch_sampler}"
                )
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive with "
                "drop_last"
            )

        if sampler is None:
            if self._iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self.in_order = in_order
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self._iterator = None
        self._initialized = True

    def __setattr__(self, attr, val):
        if self._initialized and attr in (
            "batch_size",
            "batch_sampler",
            "sampler",
            "drop_last",
            "dataset",
            "persistent_workers",
        ):
            raise ValueError(
                f"{attr} attribute should not be set after {type(self).__name__} is initialized"
            )
        super().__setattr__(attr, val)

    @property
    def multiprocessing_context(self):
        return self._multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, ctx):
        if ctx is not None:
            if self.num_workers == 0:
                raise ValueError(
                    "multiprocessing_context can only be used with multi-process loading "
                    f"(num_workers > 0), but got num_workers={self.num_workers}"
                )
            if isinstance(ctx, str):
                methods = multiprocessing.get_all_start_methods()
                if ctx not in methods:
                    raise ValueError(
                        "multiprocessing_context option should specify a valid start method in "
                        f"{methods!r}, but got multiprocessing_context={ctx!r}"
                    )
                ctx = multiprocessing.get_context(ctx)
            if not isinstance(ctx, multiprocessing.context.BaseContext):
                raise TypeError(
                    "multiprocessing_context option should be a valid context object or a "
                    f"string specifying the start method, but got multiprocessing_context={ctx}"
                )
        self._multiprocessing_context = ctx

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self):
        if self.pin_memory and not cuda.is_available():
            warnings.warn(
                "'pin_memory' argument is set as true but no accelerator is found, then device "
                "pinned memory won't be used.",
                stacklevel=2,
            )
        if self.num_workers == 0:
            return _SingleProcessIter(self)
        if self.persistent_workers:
            if self._iterator is None or self._iterator._pool.is_shut_down:
                self._iterator = _MultiProcessIter(self)
            else:
                try:
                    self._iterator._reset(self)
                except BaseException:
                    self._iterator._shutdown()
                    raise
            return self._iterator
        return _MultiProcessIter(self)

    def __len__(self):
        return _length(self)


def _length(loader):
    if loader._iterable:
        n = len(loader.dataset)
        if loader.batch_size is None:
            return n
        return n // loader.batch_size if loader.drop_last else -(-n // loader.batch_size)
    return len(loader._index_sampler)


class _LoaderView:
    """What an iterator keeps of its loader for ``len()`` (a reference to the loader itself
    would keep a loader with persistent workers, and so its workers, alive in a cycle)."""

    def __init__(self, loader):
        self._iterable = loader._iterable
        self.dataset = loader.dataset
        self.batch_size = loader.batch_size
        self.drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler


def _base_seed(loader):
    return int(np_generator(loader.generator).integers(0, 2**63))


class _BaseDataLoaderIter:
    """What every DataLoader iterator is (libraries check ``isinstance`` against it)."""

    def __iter__(self):
        return self


class _SingleProcessIter(_BaseDataLoaderIter):
    def __init__(self, loader):
        self._base_seed = _base_seed(loader)
        self._sampler_iter = iter(loader._index_sampler)
        self._fetcher = make_fetcher(
            loader._iterable,
            loader.dataset,
            loader._auto_collation,
            loader.collate_fn,
            loader.drop_last,
        )
        self._view = _LoaderView(loader)

    def __next__(self):
        return self._fetcher.fetch(next(self._sampler_iter))

    def __len__(self):
        return _length(self._view)


class _WorkerPool:
    """The worker processes and queues of one iterator; ``shutdown`` is safe to call twice.

    Kept apart from the iterator so that a ``weakref.finalize`` on the iterator can shut the
    pool down (on garbage collection or at interpreter exit) without keeping it alive.
    """

    def __init__(self, loader, base_seed):
        ctx = loader.multiprocessing_context or _default_context()
        self.owner = os.getpid()
        self.prefix = f"ember_dl_{self.owner}_{secrets.token_hex(4)}_"
        shm_prefix = self.prefix if _shared_memory.available() else None
        self.done_flag = ctx.RawValue("b", 0)
        self.index_queues, self.workers, self.receivers = [], [], []
        self.is_shut_down = False
        try:
            for wid in range(loader.num_workers):
                iq = ctx.Queue()
                iq.cancel_join_thread()  # never block interpreter exit on a dead worker's pipe
                reader, writer = ctx.Pipe(duplex=False)
                self.receivers.append(ResultReceiver(reader))
                w = ctx.Process(
                    target=worker_loop,
                    args=(
                        loader._iterable,
                        loader.dataset,
                        iq,
                        writer,
                        self.done_flag,
                        loader._auto_collation,
                        loader.collate_fn,
                        loader.drop_last,
                        base_seed,
                        loader.worker_init_fn,
                        wid,
                        loader.num_workers,
                        f"{shm_prefix}{wid}_" if shm_prefix else None,
                    ),
                    name=f"DataLoader worker {wid}",
                    daemon=True,
                )
                try:
                    w.start()
                finally:
                    # Only the worker may hold the write end, so that workers started
                    # later do not inherit it.
                    writer.close()
                self.index_queues.append(iq)
                self.workers.append(w)
        except BaseException:
            self.shutdown()
            raise

    def wait_for_results(self, active, timeout):
        """Complete payloads from the active workers, waiting up to ``timeout`` seconds for
        any to arrive; ``[]`` when none did. Raises RuntimeError as soon as an active worker
        is found dead, also while one of its results is half-written."""
        watched = [i for i, a in enumerate(active) if a]
        ready = multiprocessing.connection.wait(
            [self.receivers[i] for i in watched] + [self.workers[i].sentinel for i in watched],
            timeout,
        )
        payloads = []
        for r in self.receivers:
            if r in ready:
                payloads += r.read_available()
        dead = [i for i in watched if not self.workers[i].is_alive()]
        if dead:
            raise RuntimeError(_death_message([self.workers[i] for i in dead], dead))
        return payloads

    def stop_worker(self, wid):
        self.index_queues[wid].put(None)

    def shutdown(self):
        # A forked worker holds a copy of every pool its parent had; only the owner may act.
        if self.is_shut_down or os.getpid() != self.owner:
            return
        self.is_shut_down = True
        try:
            self.done_flag.value = 1
            for q in self.index_queues:
                try:
                    q.put(None)
                except (OSError, ValueError):
                    pass
            deadline = time.monotonic() + JOIN_TIMEOUT
            for w in self.workers:
                w.join(max(0.0, deadline - time.monotonic()))
            for w in self.workers:
                if w.is_alive():
                    w.kill()
                    w.join()
            for r in self.receivers:
                r.close()
            for q in self.index_queues:
                q.cancel_join_thread()
                q.close()
        finally:
            _shared_memory.remove_all(self.prefix)


def _describe_death(w):
    code = w.exitcode
    if code is None or code >= 0:
        return f"exit code {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        return f"killed by signal {-code}"
    if -code == signal.SIGKILL:
        return f"killed by signal {name} (perhaps by the out-of-memory killer)"
    return f"killed by signal {name}"


def _death_message(workers, worker_ids):
    pids = ", ".join(str(w.pid) for w in workers)
    why = "; ".join(
        f"worker {wid} (pid {w.pid}) {_describe_death(w)}" for w, wid in zip(workers, worker_ids)
    )
    return f"DataLoader worker (pid(s) {pids}) exited unexpectedly: {why}"


class _MultiProcessIter(_BaseDataLoaderIter):
    """Feeds indices to the workers' queues and hands results out in sampler order.

    Up to ``prefetch_factor * num_workers`` tasks are outstanding; results that arrive early
    wait in ``_task_info`` (a reorder buffer keyed by task number) until their turn.
    """

    def __init__(self, loader):
        self._num_workers = loader.num_workers
        self._prefetch = loader.prefetch_factor * loader.num_workers
        self._persistent = loader.persistent_workers
        self._timeout = loader.timeout
        self._in_order = loader.in_order
        self._iterable = loader._iterable
        self._view = _LoaderView(loader)
        self._pool = _WorkerPool(loader, _base_seed(loader))
        self._released = [[] for _ in range(self._num_workers)]  # files to hand back
        self._arrived = collections.deque()  # payloads read but not yet unpickled
        self._finalizer = weakref.finalize(self, self._pool.shutdown)
        self._reset(loader, first_iter=True)

    def _reset(self, loader, first_iter=False):
        self._sampler_iter = iter(loader._index_sampler)
        self._send_idx = 0
        self._rcvd_idx = 0
        self._task_info = {}
        self._active = [True] * self._num_workers
        self._next_worker = 0
        if not first_iter:
            for q in self._pool.index_queues:
                q.put(ResumeIteration())
            waiting = self._num_workers
            while waiting:
                marker, _ = self._get_data()  # results of the previous epoch are dropped
                if isinstance(marker, ResumeIteration):
                    waiting -= 1
        for _ in range(self._prefetch):
            self._try_put_index()

    def __len__(self):
        return _length(self._view)

    def __next__(self):
        try:
            return self._next_data()
        except StopIteration:
            if not self._persistent:
                self._shutdown()
            raise
        except BaseException:
            self._shutdown()
            raise

    def _shutdown(self):
        self._finalizer()

    def _try_put_index(self):
        try:
            index = next(self._sampler_iter)
        except StopIteration:
            return
        for _ in range(self._num_workers):
            wid = self._next_worker
            self._next_worker = (wid + 1) % self._num_workers
            if self._active[wid]:
                break
        else:
            return
        self._pool.index_queues[wid].put((self._send_idx, index, self._released[wid]))
        self._released[wid] = []
        self._task_info[self._send_idx] = (wid,)
        self._send_idx += 1

    def _get_data(self):
        """The next ``(task_idx, data)`` from any worker, watching worker health and timeout."""
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        while not self._arrived:
            wait = STATUS_CHECK_INTERVAL
            if deadline is not None:
                wait = min(wait, max(deadline - time.monotonic(), 0.0))
            self._arrived.extend(self._pool.wait_for_results(self._active, wait))
            if not self._arrived and deadline is not None and time.monotonic() >= deadline:
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
        receiver = _shared_memory.Receiver(self._arrived.popleft())
        data = receiver.load()
        for wid, name in receiver.released:
            self._released[wid].append(name)
        return data

    def _next_data(self):
        while True:
            while self._rcvd_idx < self._send_idx:
                info = self._task_info.get(self._rcvd_idx)
                if info is not None and (len(info) == 2 or self._active[info[0]]):
                    break
                # delivered out of order already, or its worker ran dry
                self._task_info.pop(self._rcvd_idx, None)
                self._rcvd_idx += 1
            else:
                raise StopIteration
            if len(self._task_info[self._rcvd_idx]) == 2:
                return self._process(self._task_info.pop(self._rcvd_idx)[1], self._rcvd_idx)
            idx, data = self._get_data()
            if isinstance(data, IterableDatasetStopIteration):
                self._active[data.worker_id] = False
                if not self._persistent:
                    self._pool.stop_worker(data.worker_id)
                self._try_put_index()
                continue
            if idx == self._rcvd_idx or (not self._in_order and idx in self._task_info):
                del self._task_info[idx]
                return self._process(data, idx)
            if idx in self._task_info:
                self._task_info[idx] += (data,)

    def _process(self, data, idx):
        if idx == self._rcvd_idx:
            self._rcvd_idx += 1
        self._try_put_index()
        if isinstance(data, ExceptionWrapper):
            data.reraise()
        return data


# PyTorch's names for the two iterators.
_SingleProcessDataLoaderIter = _SingleProcessIter
_MultiProcessingDataLoaderIter = _MultiProcessIter
