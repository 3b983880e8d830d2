"""``UntypedStorage``: the bytes under tensors.

An ``UntypedStorage`` holds a 1-d uint8 NumPy array over its memory. A tensor's storage is the
memory of its root array (the array its views were taken from), so writes through the storage
and through the tensor are seen by both. A storage that owns memory of its own (made from a size,
a sequence, a file or a slice) is a root array itself, so tensors made from it (``asarray``,
``Tensor.set_``) give that same storage back.

As in PyTorch, the same memory gives the same storage object while that object is alive
(``x.untyped_storage() is x[1:].untyped_storage()``); once it is gone, the next call makes a
new one.
"""

import mmap
import os
import sys
import weakref

import numpy as np

from ember import _dtype
from ember._device import CPU, device, resolve_device

__all__ = ["UntypedStorage"]

# Arrays over files mapped by ``from_file``, by id; PyTorch counts file mappings as shared.
_FILE_MAPPINGS = {}

# The live storage object of each root array, by the root's id, held weakly: a storage keeps
# its root alive, so a live entry's id cannot have been reused by another array.
_LIVE_STORAGES = {}


def root_array(arr):
    """The array ``arr``'s views were taken from: the first base that is not an ndarray,
    looking through the wrapper NumPy's ``as_strided`` puts between a view and its base."""
    while True:
        base = arr.base
        if not isinstance(base, np.ndarray):
            base = getattr(base, "base", None) if type(base).__name__ == "DummyArray" else None
            if not isinstance(base, np.ndarray):
                return arr
        arr = base


def byte_extent(arr):
    """(lowest address, number of bytes) of the memory ``arr`` can reach."""
    start = arr.__array_interface__["data"][0]
    if arr.size == 0:
        return start, 0
    low = sum((n - 1) * s for n, s in zip(arr.shape, arr.strides) if s < 0)
    high = sum((n - 1) * s for n, s in zip(arr.shape, arr.strides) if s > 0)
    return start + low, high - low + arr.itemsize


def _remember(storage, root):
    """Record ``storage`` as the storage object of ``root``'s memory while it is alive."""
    key = id(root)

    def forget(ref):
        if _LIVE_STORAGES.get(key) is ref:
            del _LIVE_STORAGES[key]

    _LIVE_STORAGES[key] = weakref.ref(storage, forget)


def _live_storage(root):
    """The storage object already handed out for ``root``'s memory, or None."""
    ref = _LIVE_STORAGES.get(id(root))
    storage = None if ref is None else ref()
    if storage is None or storage.device.type == "meta":
        return None
    address, nbytes = byte_extent(root)
    if storage.nbytes() != nbytes or (nbytes and storage.data_ptr() != address):
        return None
    return storage


class _Memory:
    """Exposes ``nbytes`` bytes at ``address`` as an array while keeping ``owner`` alive."""

    def __init__(self, owner, address, nbytes):
        self.owner = owner
        self.__array_interface__ = {
            "data": (address, not owner.flags.writeable),
            "shape": (nbytes,),
            "typestr": "|u1",
            "version": 3,
        }


def _bytes_of_root(root):
    """A uint8 array over all of ``root``'s memory; a plain view when the memory is contiguous,
    so that the chain of bases (and with it shared-memory detection) is kept."""
    if root.flags.c_contiguous or root.flags.f_contiguous:
        return root.reshape(-1, order="A").view(np.uint8)
    address, nbytes = byte_extent(root)
    return np.asarray(_Memory(root, address, nbytes))


def _own_bytes(view):
    """``view``'s bytes as a root array of their own (a storage slice is a storage)."""
    return np.frombuffer(memoryview(view), np.uint8) if view.size else np.empty(0, np.uint8)


def _byte_value(value, op):
    """An int stored as a byte, wrapping as PyTorch does (300 -> 44, -1 -> 255)."""
    if not isinstance(value, int | np.integer):
        raise RuntimeError(
            f"UntypedStorage.{op}: expected an int to store as a byte, got {type(value).__name__}"
        )
    return int(value) & 0xFF


class UntypedStorage:
    """A contiguous, one-dimensional array of bytes (``torch.UntypedStorage``)."""

    __slots__ = ("_bytes", "filename", "device", "__weakref__", "__dict__")  # attributes, as torch
    is_sparse = False
    is_sparse_csr = False
    is_cuda = False
    is_hpu = False

    def __init__(self, *args, device=None):
        resolve_device(device, "UntypedStorage")
        self.filename = None
        self.device = CPU
        if not args:
            self._bytes = np.empty(0, np.uint8)
        elif len(args) > 1:
            raise TypeError(
                f"UntypedStorage(): expected a size or a sequence of ints, got {len(args)} "
                "arguments"
            )
        elif isinstance(args[0], int | np.integer) and not isinstance(args[0], bool):
            self._bytes = np.empty(nonnegative(args[0], "UntypedStorage()"), np.uint8)
        else:
            self._bytes = _sequence_bytes(args[0])
        _remember(self, self._bytes)

    @classmethod
    def _wrap(cls, arr):
        """A storage over the uint8 array ``arr`` (shared, not copied)."""
        storage = cls.__new__(cls)
        storage._bytes = arr
        storage.filename = None
        storage.device = CPU
        if not isinstance(arr.base, np.ndarray):  # memory of its own: tensors over it find it
            _remember(storage, arr)
        return storage

    @classmethod
    def _meta(cls, nbytes):
        """The storage of a meta tensor: a size, no memory (data_ptr 0, no values)."""
        storage = cls._wrap(np.broadcast_to(np.zeros(1, np.uint8), (nbytes,)))
        storage.device = device("meta")
        return storage

    def _values(self):
        """The bytes, for reading or writing values; a meta storage has none."""
        if self.device.type == "meta":
            raise NotImplementedError("Cannot access data of a meta storage; it has no data!")
        return self._bytes

    @classmethod
    def _of_array(cls, arr):
        """The storage of a tensor whose data is ``arr``: all of its root array's memory."""
        if not isinstance(arr, np.ndarray):
            raise RuntimeError(
                "untyped_storage(): ember gives storages of CPU tensors only, this tensor's "
                "data is not a NumPy array"
            )
        root = root_array(arr)
        storage = _live_storage(root)
        if storage is None:
            storage = cls._wrap(_bytes_of_root(root))
            _remember(storage, root)
        return storage

    # -- sizes and identity -----------------------------------------------------------------
    def size(self):
        return self._bytes.size

    nbytes = size

    def __len__(self):
        return self._bytes.size

    def element_size(self):
        return 1

    def data_ptr(self):
        """The address of the first byte; 0 for an empty storage, as in PyTorch."""
        if self.device.type == "meta" or not self._bytes.size:
            return 0
        return self._bytes.__array_interface__["data"][0]

    def type(self, dtype=None, non_blocking=False):
        if dtype is not None:
            raise TypeError("UntypedStorage.type(): ember storages cannot be converted by type")
        return "torch.storage.UntypedStorage"

    def untyped(self):
        return self

    def get_device(self):
        return None

    def is_pinned(self, device="cuda"):
        return False

    def cpu(self):
        return self

    def is_shared(self):
        from ember._ops.creation import is_shared
        from ember._tensor import wrap

        root = root_array(self._bytes)
        if id(root) in _FILE_MAPPINGS and _FILE_MAPPINGS[id(root)]() is root:
            return True
        return is_shared(wrap(self._bytes))

    def share_memory_(self):
        """Shared already (a file mapping or a shared tensor's storage): a no-op.
        Otherwise the memory would have to move, which tensors viewing it cannot follow."""
        if self.is_shared():
            return self
        raise RuntimeError(
            "UntypedStorage.share_memory_: ember cannot move a storage's memory under the "
            "tensors that view it; call share_memory_() on the tensor instead (its storage is "
            "then shared), or make the storage with UntypedStorage.from_file(path, shared=True)"
        )

    # -- contents ---------------------------------------------------------------------------
    def _index(self, idx, op, error):
        n = self._bytes.size
        i = int(idx)
        if not -n <= i < n:
            raise error(f"index {i} out of range for storage of size {n}")
        return i % n

    def _slice(self, item):
        start, stop, step = item.indices(self._bytes.size)
        if step != 1:
            raise RuntimeError(
                f"Trying to slice with a step of {step}, but only a step of 1 is supported"
            )
        return start, max(start, stop)

    def __getitem__(self, item):
        """A byte as an int, or (a slice) a storage viewing those bytes."""
        if isinstance(item, slice):
            start, stop = self._slice(item)
            return UntypedStorage._wrap(_own_bytes(self._values()[start:stop]))
        if isinstance(item, bool) or not isinstance(item, int | np.integer):
            raise TypeError(f"can't index a torch.UntypedStorage with {type(item).__name__}")
        return int(self._values()[self._index(item, "__getitem__", IndexError)])

    def __setitem__(self, item, value):
        value = _byte_value(value, "__setitem__")
        if isinstance(item, slice):
            start, stop = self._slice(item)
            self._values()[start:stop] = value
        elif isinstance(item, int | np.integer) and not isinstance(item, bool):
            self._values()[self._index(item, "__setitem__", RuntimeError)] = value
        else:
            raise TypeError(f"can't index a torch.UntypedStorage with {type(item).__name__}")

    def __iter__(self):
        return iter(self.tolist())

    def tolist(self):
        return self._values().tolist()

    def fill_(self, value):
        self._values()[...] = _byte_value(value, "fill_")
        return self

    def zero_(self):
        return self.fill_(0)

    def copy_(self, src, non_blocking=None):
        if not hasattr(src, "untyped"):  # an UntypedStorage or a TypedStorage
            raise TypeError(f"copy_(): argument 'src' must be a storage, not {type(src).__name__}")
        src = src.untyped()
        if src.nbytes() != self.nbytes():
            raise RuntimeError(
                f"size does not match, self was {self.nbytes()} bytes but src was "
                f"{src.nbytes()} bytes"
            )
        self._values()[...] = src._values()
        return self

    def clone(self):
        return UntypedStorage._wrap(self._values().copy())

    def resize_(self, size):
        """Grow or shrink, keeping the leading bytes; only memory nothing else views can."""
        size = nonnegative(size, "UntypedStorage.resize_")
        owner = self._bytes.base is None and self._bytes.flags.owndata
        # Two references: this storage's slot and getrefcount's own argument.
        if not owner or _references(self._bytes) > 2:
            raise RuntimeError(
                f"UntypedStorage.resize_: cannot resize a storage of {self.nbytes()} bytes to "
                f"{size} bytes while tensors or other storages view its memory (ember's tensors "
                "cannot follow memory that moves); resize the tensor instead, or copy the data "
                "into a new storage"
            )
        new = np.zeros(size, np.uint8)
        keep = min(size, self._bytes.size)
        new[:keep] = self._bytes[:keep]
        _LIVE_STORAGES.pop(id(self._bytes), None)
        self._bytes = new
        _remember(self, new)
        return self

    # -- construction from outside memory ---------------------------------------------------
    @staticmethod
    def from_buffer(buffer, byte_order=None, count=-1, offset=0, *, dtype=None):
        """A new storage holding a copy of ``buffer``'s elements of ``dtype`` (read in
        ``byte_order``) as native-order bytes."""
        values = buffer_values(buffer, byte_order, count, offset, dtype)
        return UntypedStorage._wrap(values.reshape(-1).view(np.uint8))

    @classmethod
    def from_file(cls, filename, shared=False, nbytes=0):
        """The first ``nbytes`` bytes of a file, memory-mapped. ``shared=True`` maps the file
        itself (writes reach it; a missing or shorter file is created or extended);
        ``shared=False`` maps a private copy-on-write view."""
        storage = cls._wrap(_map_file(os.fspath(filename), shared, nbytes))
        storage.filename = os.fspath(filename) if shared else None
        return storage

    @classmethod
    def _new_shared(cls, size, *, device=None):
        from ember._tensor import wrap

        t = wrap(np.zeros(nonnegative(size, "UntypedStorage._new_shared"), np.uint8))
        t.share_memory_()
        return cls._of_array(t._data)

    # -- printing and pickling --------------------------------------------------------------
    def __repr__(self):
        values = [] if self.device.type == "meta" else self._bytes.tolist()
        body = "".join(f" {b}\n" for b in values) or " \n"
        return f"{body}[torch.storage.UntypedStorage(device={self.device}) of size {self.nbytes()}]"

    __str__ = __repr__

    def __reduce__(self):
        return (UntypedStorage._wrap, (self._bytes.copy(),))

    def __deepcopy__(self, memo):
        return memo.setdefault(id(self), self.clone())

    def __copy__(self):
        return self.clone()


def _references(arr):
    return sys.getrefcount(arr) - 1  # not counting getrefcount's own reference


def nonnegative(n, op):
    n = int(n)
    if n < 0:
        raise RuntimeError(f"{op}: the number of bytes must be non-negative, got {n}")
    return n


def _sequence_bytes(seq):
    """A new uint8 array from a sequence of ints (bytes, bytearray, list), wrapping values."""
    if isinstance(seq, str) or not hasattr(seq, "__len__"):
        raise RuntimeError(
            f"torch.UntypedStorage(): Expected a sequence type, but got {type(seq).__name__}"
        )
    if isinstance(seq, bytes | bytearray | memoryview):
        return np.frombuffer(bytes(seq), np.uint8).copy()
    items = list(seq)
    for x in items:
        if isinstance(x, bool) or not isinstance(x, int | np.integer):
            raise RuntimeError(
                f"torch.UntypedStorage(): tried to construct a storage from a sequence "
                f"({type(seq).__name__}), but one of the items was of type "
                f"{type(x).__name__} instead of int"
            )
    return (np.array(items, dtype=object) & 0xFF).astype(np.uint8) if items else np.empty(0, "u1")


def _map_file(path, shared, nbytes):
    nbytes = int(nbytes)
    if nbytes < 0:
        raise RuntimeError(f"unable to mmap {nbytes} bytes from file <{path}>: negative size")
    if shared:
        with open(path, "a+b") as f:
            if os.fstat(f.fileno()).st_size < nbytes:
                f.truncate(nbytes)
    try:
        f = open(path, "r+b" if shared else "rb")
    except OSError as e:
        mode = "read-write" if shared else "read-only"
        raise RuntimeError(
            f"unable to open file <{path}> in {mode} mode: {e.strerror} ({e.errno})"
        ) from None
    with f:
        size = os.fstat(f.fileno()).st_size
        if size < nbytes:
            raise RuntimeError(
                f"file <{path}> size <{size}> is smaller than the required mapping size <{nbytes}>"
            )
        if nbytes == 0:
            return np.empty(0, np.uint8)
        access = mmap.ACCESS_WRITE if shared else mmap.ACCESS_COPY
        mapping = mmap.mmap(f.fileno(), nbytes, access=access)
    arr = np.frombuffer(mapping, np.uint8)
    _FILE_MAPPINGS[id(arr)] = weakref.ref(arr)
    weakref.finalize(arr, _FILE_MAPPINGS.pop, id(arr), None)
    return arr


_BYTE_ORDERS = {"little": "<", "big": ">", "native": "="}


def buffer_values(buffer, byte_order, count, offset, dtype):
    """A copy of ``count`` elements of ``dtype`` in ``buffer`` from byte ``offset``, read in
    ``byte_order``, as a native-order array of ``dtype``."""
    if dtype is None:
        raise RuntimeError("from_buffer(): argument 'dtype' cannot be None")
    dtype = _dtype.to_dtype(dtype)
    np_dtype = np.dtype(dtype.np)
    if dtype.itemsize > 1:
        if byte_order is None:
            raise RuntimeError(
                f"from_buffer(): argument 'byte_order' is required for {dtype} (elements of "
                f"{dtype.itemsize} bytes): 'little', 'big' or 'native'"
            )
        if byte_order not in _BYTE_ORDERS:
            raise ValueError(
                f"invalid byte_order {byte_order!r} (expected 'big', 'little', or 'native')"
            )
        np_dtype = np_dtype.newbyteorder(_BYTE_ORDERS[byte_order])
    try:
        view = memoryview(buffer)
    except TypeError:
        raise TypeError(
            f"from_buffer(): object of type {type(buffer).__name__} does not implement the "
            "Python buffer protocol"
        ) from None
    nbytes = view.nbytes - offset
    if offset < 0 or nbytes < 0:
        raise ValueError(f"offset ({offset} bytes) is outside the buffer ({view.nbytes} bytes)")
    if count < 0 and nbytes % dtype.itemsize:
        raise ValueError(
            f"buffer size ({nbytes}) must be a multiple of element size ({dtype.itemsize})"
        )
    if count >= 0 and count * dtype.itemsize > nbytes:
        raise ValueError(
            f"from_buffer(): {count} elements of {dtype.itemsize} bytes need more than the "
            f"{nbytes} bytes after offset {offset}"
        )
    if dtype is _dtype.bool:  # any nonzero byte is True, stored as 1
        np_dtype = np.dtype(np.uint8)
    return np.frombuffer(view.cast("B"), np_dtype, count, offset).astype(dtype.np)
