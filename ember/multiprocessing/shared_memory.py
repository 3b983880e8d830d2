"""Tensors in shared memory: ``Tensor.share_memory_()`` and passing them to child processes.

``share_memory_()`` moves a tensor's data into a file in /dev/shm mapped into this process.
When such a tensor is pickled for another process (multiprocessing's pickler: ``Process``
arguments, ``Queue`` items, ``spawn`` arguments), only the file's name, offset, shape and
strides travel; the receiver maps the same file, so writes on either side are seen by both
(Hogwild training). The process that created a file removes its name when it exits; mappings
already made stay valid.
"""

import atexit
import mmap
import os
import tempfile
from multiprocessing.reduction import ForkingPickler

import numpy as np

from ember._tensor import Tensor, wrap

_SHM_DIR = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()


class _Segment:
    """One mapped file: its path, mapping, and the address where the mapping starts."""

    def __init__(self, path, nbytes, create):
        self.path = path
        with open(path, "w+b" if create else "r+b") as f:
            if create:
                f.truncate(max(nbytes, 1))
            self.map = mmap.mmap(f.fileno(), max(nbytes, 1))
        self.address = np.frombuffer(self.map, np.uint8).__array_interface__["data"][0]


# id(mapping) -> segment, for the mappings this process made or received.
_SEGMENTS = {}
_CREATED = []


@atexit.register
def _remove_created():
    for path in _CREATED:
        try:
            os.unlink(path)
        except OSError:
            pass


def _segment_of(arr):
    base = arr
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    return _SEGMENTS.get(id(base))


def is_shared(tensor):
    return isinstance(tensor._data, np.ndarray) and _segment_of(tensor._data) is not None


def share_memory_(tensor):
    """Move ``tensor``'s data into shared memory (in place); a no-op if it is there already."""
    if not isinstance(tensor._data, np.ndarray):
        raise RuntimeError(f"share_memory_: only CPU tensors can be shared, got {tensor.device}")
    if is_shared(tensor):
        return tensor
    arr = tensor._data
    fd, path = tempfile.mkstemp(prefix=f"ember-{os.getpid()}-", dir=_SHM_DIR)
    os.close(fd)
    segment = _Segment(path, arr.nbytes, create=True)
    _CREATED.append(path)
    _SEGMENTS[id(segment.map)] = segment
    shared = np.ndarray(arr.shape, arr.dtype, buffer=segment.map)
    shared[...] = arr
    tensor._data = shared
    if tensor.grad is not None:
        share_memory_(tensor.grad)
    return tensor


def _rebuild_shared(cls, path, nbytes, offset, shape, strides, dtype, requires_grad):
    segment = next((s for s in _SEGMENTS.values() if s.path == path), None)
    if segment is None:
        segment = _Segment(path, nbytes, create=False)
        _SEGMENTS[id(segment.map)] = segment
    arr = np.ndarray(shape, dtype, buffer=segment.map, offset=offset, strides=strides)
    t = wrap(arr, requires_grad)
    if cls is not Tensor:
        from ember.nn.parameter import Parameter

        if issubclass(cls, Parameter):
            return Parameter(t, requires_grad=requires_grad)
    return t


def _reduce_tensor(tensor):
    arr = tensor._data
    segment = _segment_of(arr) if isinstance(arr, np.ndarray) else None
    if segment is None:
        return tensor.__reduce_ex__(4)
    offset = arr.__array_interface__["data"][0] - segment.address
    args = (type(tensor), segment.path, len(segment.map), offset, arr.shape, arr.strides,
            arr.dtype, tensor.requires_grad)  # fmt: skip
    return _rebuild_shared, args


def register_reducers():
    """Send shared tensors by name through multiprocessing's pickler."""
    from ember.nn.parameter import Parameter

    for cls in (Tensor, Parameter):
        ForkingPickler.register(cls, _reduce_tensor)


register_reducers()
