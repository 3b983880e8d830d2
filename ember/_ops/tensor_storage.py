"""A tensor's place in its storage: ``untyped_storage``, ``storage``, ``storage_offset`` and
``set_`` (bound as Tensor methods in ``_methods.py``)."""

import numpy as np

from ember import _dtype
from ember._ops.storage import UntypedStorage, byte_extent, root_array
from ember._ops.typed_storage import TypedStorage, warn_typed_storage_removal
from ember._tensor import Tensor, wrap
from ember.autograd.inplace import check_inplace


def untyped_storage(self):
    """The bytes under this tensor, shared with it (and with every view of the same base)."""
    if self.is_meta:  # a size and no memory; the extent follows the logical strides
        last = sum((n - 1) * s for n, s in zip(self.shape, self.stride()))
        return UntypedStorage._meta(0 if self.numel() == 0 else (last + 1) * self.element_size())
    return UntypedStorage._of_array(self._data)


def storage(self):
    """``untyped_storage()`` read as this tensor's dtype; deprecated in PyTorch, as here."""
    warn_typed_storage_removal()
    return TypedStorage(wrap_storage=self.untyped_storage(), dtype=self.dtype, _internal=True)


def storage_offset(self):
    """The first element's offset from the start of the storage, in elements."""
    arr = self._data
    if self.is_meta or not isinstance(arr, np.ndarray):
        return 0
    start, _ = byte_extent(root_array(arr))
    return (arr.__array_interface__["data"][0] - start) // arr.itemsize


def storage_as_tensor(storage, dtype=None):
    """A 1-d tensor reading ``storage``'s bytes as ``dtype`` (uint8 for an UntypedStorage, its
    own dtype for a TypedStorage), sharing them; trailing bytes short of an element are left
    out, as in PyTorch."""
    if isinstance(storage, TypedStorage):
        dtype = storage.dtype if dtype is None else dtype
        storage = storage.untyped()
    dtype = _dtype.uint8 if dtype is None else _dtype.to_dtype(dtype)
    whole = storage.nbytes() // dtype.itemsize * dtype.itemsize
    if whole == 0:  # nothing to share; sliced so the stride is 1 (NumPy gives empties 0)
        return wrap(np.empty(1, dtype.np)[:0])
    return wrap(storage._bytes[:whole].view(dtype.np))


def set_(self, source=None, storage_offset=0, size=None, stride=None):
    """Make this tensor view ``source``: another tensor's memory, or a storage from element
    ``storage_offset`` with ``size`` and ``stride`` (contiguous by default); no source gives an
    empty tensor."""
    check_inplace(self)
    itemsize = self._data.itemsize
    if source is None:
        new = np.empty(0, self._data.dtype)
    elif isinstance(source, Tensor):
        if source.dtype is not self.dtype:
            raise RuntimeError(
                f"set_: expected a tensor of dtype {self.dtype} to take the memory of, got "
                f"{source.dtype}"
            )
        new = source._data
    elif isinstance(source, UntypedStorage | TypedStorage):
        if isinstance(source, TypedStorage) and source.dtype is not self.dtype:
            raise RuntimeError(
                f"set_: expected a storage of dtype {self.dtype} for a tensor of that dtype, got "
                f"a TypedStorage of {source.dtype}"
            )
        untyped = source.untyped()
        new = _view_of_storage(untyped, self._data.dtype, itemsize, storage_offset, size, stride)
    else:
        raise TypeError(f"set_: expected a Tensor or a storage, got {type(source).__name__}")
    self._data = new
    self._bump_version()
    return self


def _view_of_storage(storage, np_dtype, itemsize, offset, size, stride):
    """An array of ``np_dtype`` viewing ``storage`` (PyTorch's bounds check and message)."""
    if size is None:
        if stride is not None:
            raise TypeError("set_: a stride needs a size")
        size = ((storage.nbytes() - offset * itemsize) // itemsize,)
    size = tuple(int(s) for s in size)
    if stride is None or len(stride) == 0:
        stride, step = [], 1
        for s in reversed(size):
            stride.insert(0, step)
            step *= max(s, 1)
    stride = tuple(int(s) for s in stride)
    if len(stride) != len(size):
        raise RuntimeError(
            f"set_: sizes {list(size)} and strides {list(stride)} have different lengths"
        )
    if offset < 0 or any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise RuntimeError(
            f"set_: storage offset {offset}, sizes {list(size)} and strides {list(stride)} must "
            "all be non-negative"
        )
    numel = int(np.prod(size))
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))  # the farthest element
    needed = 0 if numel == 0 else itemsize * (last + 1)
    if needed > storage.nbytes():
        raise RuntimeError(
            f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, "
            f"and itemsize {itemsize} requiring a storage size of {needed} are out of bounds "
            f"for storage of size {storage.nbytes()}"
        )
    if numel == 0:
        return np.empty(size, np_dtype)
    strides = tuple(s * itemsize for s in stride)
    return np.ndarray(
        size, np_dtype, buffer=storage._bytes, offset=offset * itemsize, strides=strides
    )
