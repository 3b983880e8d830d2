"""Storages to tensors: ``view`` turns a loaded storage (a 1-D uint8 array on some device) and
a recorded layout into an array, after checking that the shape is representable and the view
stays inside the storage.
"""

import numpy as np

from ember._serialization.errors import CheckpointError

__all__ = ["view", "check_shape", "c_strides", "to_host"]


def c_strides(shape, itemsize):
    strides, step = [], itemsize
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


def to_host(a):
    """A C-contiguous NumPy copy of ``a`` (no copy when it already is one)."""
    return a if a.flags.c_contiguous else a.copy(order="C")


MAX_DIMS = 64  # NumPy's limit, and PyTorch's too
_MAX_BYTES = 2**62  # far above any real tensor, far below where NumPy's size arithmetic fails


def check_shape(shape, itemsize, what, name):
    """Refuse shapes NumPy cannot represent: too many dimensions or an absurd element count."""
    if len(shape) > MAX_DIMS:
        raise CheckpointError(
            f"{what}: {name} has {len(shape)} dimensions, more than the {MAX_DIMS} allowed"
        )
    nbytes = itemsize
    for n in shape:
        if n > _MAX_BYTES:
            break
        nbytes *= max(n, 1)
    else:
        if nbytes <= _MAX_BYTES:
            return
    raise CheckpointError(f"{what}: {name} has an impossible shape {list(shape)!s:.200}")


def view(storage, np_dtype, shape, strides, offset, what, name="a tensor"):
    """The array of ``np_dtype``, ``shape`` and byte ``strides`` at byte ``offset`` of
    ``storage`` (a 1-D uint8 NumPy or CuPy array), after checking it stays inside."""
    itemsize = np_dtype.itemsize
    check_shape(shape, itemsize, what, name)
    nbytes = storage.nbytes
    if any(n == 0 for n in shape):
        ok = 0 <= offset <= nbytes
    else:
        lo = offset + sum((n - 1) * s for n, s in zip(shape, strides, strict=True) if s < 0)
        hi = offset + sum((n - 1) * s for n, s in zip(shape, strides, strict=True) if s > 0)
        ok = lo >= 0 and hi + itemsize <= nbytes
    if not ok:
        raise CheckpointError(
            f"{what}: {name} of shape {list(shape)!s:.200}, strides {list(strides)!s:.200} "
            f"(bytes) at byte offset {offset} reaches outside its storage of {nbytes} bytes"
        )
    return np.ndarray(shape, np_dtype, buffer=storage, offset=offset, strides=strides)
