"""Tensors to storages and back.

Saving groups tensors whose memory overlaps (tied weights, views of one another) into one
storage, so that they come back sharing memory. A group of one view is stored as an ordinary
tensor entry that any safetensors reader understands; a group of several views is stored as the
raw bytes of the memory span they cover (dtype U8), and each member records where it lies in it.

Loading turns a storage (a 1-D uint8 array on some device) and a recorded view back into an array
with ``view``, which checks that the view stays inside the storage.
"""

import ctypes

import numpy as np

from ember._serialization.dtypes import SAFETENSORS_CODE
from ember._serialization.errors import CheckpointError

__all__ = ["Storage", "plan", "view", "c_strides", "to_host"]


class Storage:
    """One entry to write: header name, dtype code, shape, the host bytes, and the views into it.

    ``views`` pairs the index of each member tensor with ``(byte_offset, byte_strides)``.
    """

    __slots__ = ("name", "code", "shape", "array", "views")

    def __init__(self, name, code, shape, array, views):
        self.name, self.code, self.shape, self.array, self.views = name, code, shape, array, views


def plan(arrays, names, dtypes):
    """Group ``arrays`` (NumPy or CuPy) by overlapping memory into a list of Storages.

    ``names[i]`` is the header name proposed for array ``i``; a storage takes its first
    member's name. ``dtypes[i]`` is the ember dtype of array ``i``.
    """
    return [_storage(members, arrays, names, dtypes) for members in _groups(arrays)]


def _groups(arrays):
    """Lists of indices of arrays whose byte ranges overlap (on the same device)."""
    spans, groups = [], []
    for i, a in enumerate(arrays):
        if a.size == 0:
            groups.append([i])
        else:
            lo, hi = _bounds(a)
            spans.append((_device_key(a), lo, hi, i))
    spans.sort()
    current, current_key, current_hi = None, None, 0
    for key, lo, hi, i in spans:
        if current is not None and key == current_key and lo < current_hi:
            current.append(i)
            current_hi = max(current_hi, hi)
        else:
            current, current_key, current_hi = [i], key, hi
            groups.append(current)
    for g in groups:
        g.sort()
    groups.sort()
    return groups


def _storage(members, arrays, names, dtypes):
    first = arrays[members[0]]
    if all(_same_view(arrays[i], first) for i in members):
        host = to_host(first)
        strides = c_strides(host.shape, host.itemsize)
        views = [(i, (0, strides)) for i in members]
        return Storage(
            names[members[0]], SAFETENSORS_CODE[dtypes[members[0]]], host.shape, host, views
        )
    lo = min(_bounds(arrays[i])[0] for i in members)
    hi = max(_bounds(arrays[i])[1] for i in members)
    span = _span_to_host(first, lo, hi - lo)
    span = np.concatenate([span, np.zeros(-span.size % 8, np.uint8)])  # keeps what follows aligned
    views = [(i, (_ptr(arrays[i]) - lo, tuple(arrays[i].strides))) for i in members]
    return Storage(names[members[0]], "U8", span.shape, span, views)


def _same_view(a, b):
    return (
        a.dtype == b.dtype
        and a.shape == b.shape
        and a.strides == b.strides
        and (a.size == 0 or _ptr(a) == _ptr(b))
    )


def _is_numpy(a):
    return isinstance(a, np.ndarray)


def _device_key(a):
    return -1 if _is_numpy(a) else a.device.id


def _ptr(a):
    return a.__array_interface__["data"][0] if _is_numpy(a) else a.data.ptr


def _bounds(a):
    """The byte range ``[lo, hi)`` of memory a non-empty array touches."""
    lo = hi = _ptr(a)
    for n, s in zip(a.shape, a.strides, strict=True):
        if s < 0:
            lo += (n - 1) * s
        else:
            hi += (n - 1) * s
    return lo, hi + a.itemsize


def c_strides(shape, itemsize):
    strides, step = [], itemsize
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


def to_host(a):
    """A C-contiguous NumPy copy of ``a`` (no copy when it already is one)."""
    if _is_numpy(a):
        return a if a.flags.c_contiguous else a.copy(order="C")
    import cupy

    return cupy.asnumpy(a.copy(order="C"))


def _span_to_host(a, lo, nbytes):
    """The ``nbytes`` bytes of memory at address ``lo``, inside the allocation that holds ``a``.

    Memory ranges of live arrays that overlap lie in one allocation, so the span is readable.
    """
    if _is_numpy(a):
        return np.frombuffer((ctypes.c_ubyte * nbytes).from_address(lo), np.uint8).copy()
    import cupy

    mem = a.data.mem
    ptr = cupy.cuda.MemoryPointer(mem, lo - mem.ptr)
    return cupy.ndarray((nbytes,), cupy.uint8, memptr=ptr).get()


def view(storage, np_dtype, shape, strides, offset, what):
    """The array of ``np_dtype``, ``shape`` and byte ``strides`` at byte ``offset`` of
    ``storage`` (a 1-D uint8 NumPy or CuPy array), after checking it stays inside."""
    itemsize = np_dtype.itemsize
    nbytes = storage.nbytes
    if any(n == 0 for n in shape):
        ok = 0 <= offset <= nbytes
    else:
        lo = offset + sum((n - 1) * s for n, s in zip(shape, strides, strict=True) if s < 0)
        hi = offset + sum((n - 1) * s for n, s in zip(shape, strides, strict=True) if s > 0)
        ok = lo >= 0 and hi + itemsize <= nbytes
    if not ok:
        raise CheckpointError(
            f"{what}: a tensor of shape {list(shape)}, strides {list(strides)} (bytes) at byte "
            f"offset {offset} reaches outside its storage of {nbytes} bytes"
        )
    if _is_numpy(storage):
        return np.ndarray(shape, np_dtype, buffer=storage, offset=offset, strides=strides)
    import cupy

    return cupy.ndarray(shape, np_dtype, memptr=storage.data + offset, strides=strides)
