"""Large arrays sent from worker processes through files in /dev/shm instead of the pipe.

In a worker, ``dumps`` pickles a result; every NumPy array (or ember Tensor's array) of at
least ``THRESHOLD`` bytes is written with ``pwrite`` into one of the worker's segment files,
and only a reference (worker, file name, shape, dtype) goes into the pickle. In the main
process a ``Receiver`` unpickles it, reading each segment into a new array with ``preadv``
and noting the file as free; the main process hands free files back to their worker with its
next task, and the worker reuses them.

Why files that are written and read, not fresh mappings: a page of shared memory that is new
to the process costs far more than copying it (measured on the 2-core VM: about 25 ms to
fill a fresh 12 MB segment and 4 ms to fault in a mapping of it, against about 1.5 ms for a
``pwrite`` or ``preadv`` of the same 12 MB into pages that already exist). Reusing a few
files per worker allocates their pages once. See benchmarks/bench_dataloader.py.

Files are named ``<prefix><n>``, the prefix naming the main process, the iterator and the
worker. The main process removes them all when it shuts its workers down (``remove_all``);
a worker that finds its parent gone removes its own.
"""

import copyreg
import glob
import io
import itertools
import os
import pickle

import numpy as np

from ember._tensor import Tensor, wrap

__all__ = ["THRESHOLD", "available", "start_worker", "release", "dumps", "Receiver"]

SHM_DIR = "/dev/shm"
# Smaller arrays are cheaper to pickle than to send through a file.
THRESHOLD = 64 * 1024


def available():
    return os.path.isdir(SHM_DIR) and os.access(SHM_DIR, os.W_OK)


class _Segment:
    __slots__ = ("name", "fd", "size")

    def __init__(self, name, fd):
        self.name, self.fd, self.size = name, fd, 0


class _Pool:
    """One worker's segment files: the free ones, and all of them by name."""

    def __init__(self, worker_id, prefix):
        self.worker_id, self.prefix = worker_id, prefix
        self.counter = itertools.count()
        self.free = []
        self.by_name = {}

    def take(self, nbytes):
        fits = [s for s in self.free if s.size >= nbytes]
        if fits:
            seg = min(fits, key=lambda s: s.size)
        elif self.free:
            seg = max(self.free, key=lambda s: s.size)  # grows on write
        else:
            name = f"{self.prefix}{next(self.counter)}"
            path = os.path.join(SHM_DIR, name)
            seg = _Segment(name, os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
            self.by_name[name] = seg
            return seg
        self.free.remove(seg)
        return seg


_pool = None  # this worker's pool, set by start_worker
_taken = None  # segments written by the dumps call in progress


def start_worker(worker_id, prefix):
    """Enable the shared-memory path in this worker process; a ``None`` prefix leaves it off."""
    global _pool
    _pool = _Pool(worker_id, prefix) if prefix is not None and available() else None


def release(names):
    """The main process has read these segments: they may be written again."""
    for name in names:
        seg = _pool.by_name.get(name) if _pool is not None else None
        if seg is not None and seg not in _pool.free:
            _pool.free.append(seg)


def _bytes_of(arr):
    return np.ascontiguousarray(arr).reshape(-1).view(np.uint8)


def _write(seg, arr):
    buf = memoryview(_bytes_of(arr))
    done = 0
    while done < len(buf):
        done += os.pwrite(seg.fd, buf[done:], done)
    seg.size = max(seg.size, len(buf))


class _Pickler(pickle.Pickler):
    dispatch_table = copyreg.dispatch_table.copy()

    def persistent_id(self, obj):
        if type(obj) is not np.ndarray or obj.dtype.hasobject or obj.nbytes < THRESHOLD:
            return None
        seg = _pool.take(obj.nbytes)
        _taken.append(seg)
        _write(seg, obj)
        return (_pool.worker_id, seg.name, obj.shape, obj.dtype)


def _rebuild_tensor(arr, requires_grad):
    return wrap(arr, requires_grad)


def _reduce_tensor(t):
    if not isinstance(t._data, np.ndarray) or type(t) is not Tensor:
        return t.__reduce_ex__(pickle.DEFAULT_PROTOCOL)
    return _rebuild_tensor, (t._data, t.requires_grad)


_Pickler.dispatch_table[Tensor] = _reduce_tensor


def dumps(obj):
    """Pickle ``obj``, sending large arrays through segment files when in a worker."""
    global _taken
    if _pool is None:
        return pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)
    buf = io.BytesIO()
    _taken = []
    try:
        _Pickler(buf, pickle.HIGHEST_PROTOCOL).dump(obj)
    except BaseException:
        _pool.free.extend(_taken)  # nothing will be sent: the segments are free again
        raise
    finally:
        _taken = None
    return buf.getvalue()


class Receiver(pickle.Unpickler):
    """Unpickles one payload in the main process; ``released`` lists ``(worker, file)``."""

    def __init__(self, payload):
        super().__init__(io.BytesIO(payload))
        self.released = []

    def persistent_load(self, pid):
        worker_id, name, shape, dtype = pid
        out = np.empty(shape, dtype)
        buf = memoryview(_bytes_of(out))
        fd = os.open(os.path.join(SHM_DIR, name), os.O_RDONLY)
        try:
            done = 0
            while done < len(buf):
                n = os.preadv(fd, [buf[done:]], done)
                if n == 0:
                    raise EOFError(f"DataLoader: shared memory file {name} is truncated")
                done += n
        finally:
            os.close(fd)
        self.released.append((worker_id, name))
        return out


def remove_all(prefix):
    """Delete every file under ``prefix`` (once no process writes them any more)."""
    for path in glob.glob(os.path.join(SHM_DIR, glob.escape(prefix) + "*")):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
