"""``TypedStorage`` (elements of one dtype over an ``UntypedStorage``; deprecated in PyTorch
but still used), the legacy ``FloatStorage``-style names and ``is_storage``."""

import warnings

import numpy as np

from ember import _dtype
from ember._device import resolve_device
from ember._ops.storage import UntypedStorage, buffer_values, nonnegative

__all__ = ["TypedStorage", "is_storage", "LEGACY_STORAGES"]

_warned_typed_storage = False


def warn_typed_storage_removal(stacklevel=2):
    """PyTorch's deprecation warning for TypedStorage, given once per process as there."""
    global _warned_typed_storage
    if _warned_typed_storage:
        return
    _warned_typed_storage = True
    warnings.warn(
        "TypedStorage is deprecated. It will be removed in the future and UntypedStorage will "
        "be the only storage class. This should only matter to you if you are using storages "
        "directly.  To access UntypedStorage directly, use tensor.untyped_storage() instead "
        "of tensor.storage()",
        UserWarning,
        stacklevel=stacklevel + 1,
    )


class TypedStorage:
    """Elements of one dtype over an ``UntypedStorage`` (``torch.TypedStorage``)."""

    is_sparse = False
    is_cuda = False

    def __init__(self, *args, wrap_storage=None, dtype=None, device=None, _internal=False):
        if not _internal:
            warn_typed_storage_removal()
        resolve_device(device, "TypedStorage")
        self.dtype = _dtype.get_default_dtype() if dtype is None else _dtype.to_dtype(dtype)
        if wrap_storage is not None:
            if args:
                raise RuntimeError("TypedStorage(): no positional arguments with wrap_storage")
            if not isinstance(wrap_storage, UntypedStorage):
                raise TypeError(
                    "TypedStorage(): expected wrap_storage to be an UntypedStorage, got "
                    f"{type(wrap_storage).__name__}"
                )
            self._untyped_storage = wrap_storage
        elif not args:
            self._untyped_storage = UntypedStorage(0)
        elif len(args) == 1 and isinstance(args[0], int | np.integer):
            n = nonnegative(args[0], "TypedStorage()") * self.dtype.itemsize
            self._untyped_storage = UntypedStorage(n)
        elif len(args) == 1:
            values = np.array(list(args[0]), dtype=self.dtype.np)
            self._untyped_storage = UntypedStorage._wrap(values.reshape(-1).view(np.uint8))
        else:
            raise TypeError(f"TypedStorage(): expected a size or a sequence, got {args!r:.80}")

    @property
    def device(self):
        return self._untyped_storage.device

    @property
    def filename(self):
        return self._untyped_storage.filename

    def _array(self):
        """The elements as a 1-d array of the storage's dtype, sharing its memory."""
        item = self.dtype.itemsize
        return self._untyped_storage._values()[: self._size() * item].view(self.dtype.np)

    def _size(self):
        return self._untyped_storage.nbytes() // self.dtype.itemsize

    def size(self):
        return self._size()

    __len__ = size

    def nbytes(self):
        return self._untyped_storage.nbytes()

    def element_size(self):
        return self.dtype.itemsize

    def data_ptr(self):
        return self._untyped_storage.data_ptr()

    def untyped(self):
        return self._untyped_storage

    def type(self, dtype=None, non_blocking=False):
        if dtype is not None:
            raise TypeError("TypedStorage.type(): ember storages cannot be converted by type")
        return f"torch.{_LEGACY_NAMES.get(self.dtype.name, 'storage.TypedStorage')}"

    def get_device(self):
        return -1

    def is_shared(self):
        return self._untyped_storage.is_shared()

    def share_memory_(self):
        self._untyped_storage.share_memory_()
        return self

    def is_pinned(self, device="cuda"):
        return False

    def cpu(self):
        return self

    def _index(self, idx):
        n = self._size()
        if isinstance(idx, bool) or not isinstance(idx, int | np.integer):
            raise TypeError(f"can't index a torch.TypedStorage with {type(idx).__name__}")
        if not -n <= idx < n:
            raise IndexError(f"index {int(idx)} out of range for storage of size {n}")
        return int(idx) % n

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            raise RuntimeError("slices are only supported in UntypedStorage.__getitem__")
        return _python_value(self._array()[self._index(idx)], self.dtype)

    def __setitem__(self, idx, value):
        arr = self._array()
        if isinstance(idx, slice):
            arr[idx] = value
        else:
            arr[self._index(idx)] = value

    def __iter__(self):
        return iter(self.tolist())

    def tolist(self):
        arr = self._array()
        if self.dtype is _dtype.bfloat16:
            arr = arr.astype(np.float32)
        return arr.tolist()

    def fill_(self, value):
        self._array()[...] = value
        return self

    def zero_(self):
        return self.fill_(0)

    def copy_(self, src, non_blocking=None):
        if not isinstance(src, TypedStorage):
            raise TypeError(f"copy_(): argument 'src' must be a TypedStorage, not {type(src)}")
        if src.size() != self.size():
            raise RuntimeError(
                f"size does not match, self was {self.size()} elements but src was "
                f"{src.size()} elements"
            )
        self._array()[...] = src._array()
        return self

    def clone(self):
        return _typed(self._array().copy(), self.dtype)

    def _to(self, dtype):
        values = self._array().astype(dtype.np)
        return _typed(values, dtype)

    def float(self):
        return self._to(_dtype.float32)

    def double(self):
        return self._to(_dtype.float64)

    def half(self):
        return self._to(_dtype.float16)

    def long(self):
        return self._to(_dtype.int64)

    def int(self):
        return self._to(_dtype.int32)

    def byte(self):
        return self._to(_dtype.uint8)

    def bool(self):
        return self._to(_dtype.bool)

    def resize_(self, size):
        self._untyped_storage.resize_(
            nonnegative(size, "TypedStorage.resize_") * self.dtype.itemsize
        )
        return self

    @classmethod
    def from_buffer(cls, buffer, byte_order=None, count=-1, offset=0, *, dtype=None):
        """A new storage holding a copy of ``buffer``'s elements (see UntypedStorage)."""
        dtype = cls._class_dtype(dtype)
        values = buffer_values(buffer, byte_order, count, offset, dtype)
        return _typed(values, dtype)

    @classmethod
    def from_file(cls, filename, shared=False, size=0, *, dtype=None):
        """The first ``size`` elements of a file, memory-mapped (see UntypedStorage)."""
        dtype = cls._class_dtype(dtype) or _dtype.get_default_dtype()
        untyped = UntypedStorage.from_file(filename, shared, size * dtype.itemsize)
        return TypedStorage(wrap_storage=untyped, dtype=dtype, _internal=True)

    @classmethod
    def _class_dtype(cls, dtype):
        """``dtype``, or a legacy class's own (``ByteStorage.from_file`` reads bytes)."""
        if dtype is not None:
            return _dtype.to_dtype(dtype)
        return cls.__dict__.get("dtype") if cls is not TypedStorage else None

    def __repr__(self):
        values = [] if self.device.type == "meta" else self.tolist()
        body = "".join(f" {v}\n" for v in values) or " \n"
        return (
            f"{body}[torch.storage.TypedStorage(dtype={self.dtype}, device={self.device}) of "
            f"size {self.size()}]"
        )

    __str__ = __repr__

    def __reduce__(self):
        return (_rebuild_typed, (self._array().copy(), self.dtype.name))

    def __deepcopy__(self, memo):
        return memo.setdefault(id(self), self.clone())

    def __copy__(self):
        return self.clone()


def _typed(values, dtype):
    """A TypedStorage over the 1-d array ``values`` of ``dtype`` (shared, not copied)."""
    wrapped = UntypedStorage._wrap(values.reshape(-1).view(np.uint8))
    return TypedStorage(wrap_storage=wrapped, dtype=dtype, _internal=True)


def _rebuild_typed(values, dtype_name):
    return _typed(values, getattr(_dtype, dtype_name))


def _python_value(v, dtype):
    return float(v) if dtype is _dtype.bfloat16 else v.item()


def is_storage(obj):
    """Whether ``obj`` is a storage (``torch.is_storage``)."""
    return isinstance(obj, UntypedStorage | TypedStorage)


# -- legacy names: FloatStorage and friends ---------------------------------------------------

_LEGACY_NAMES = {
    "float32": "FloatStorage", "float64": "DoubleStorage", "float16": "HalfStorage",
    "bfloat16": "BFloat16Storage", "int64": "LongStorage", "int32": "IntStorage",
    "int16": "ShortStorage", "int8": "CharStorage", "uint8": "ByteStorage",
    "bool": "BoolStorage", "complex64": "ComplexFloatStorage",
    "complex128": "ComplexDoubleStorage",
}  # fmt: skip


class _LegacyStorageMeta(type):
    """``isinstance(s, FloatStorage)`` is true of any float32 TypedStorage, as in PyTorch."""

    def __instancecheck__(cls, instance):
        return isinstance(instance, TypedStorage) and instance.dtype is cls.dtype


def _legacy_class(name, dtype):
    def __new__(cls, *args, **kwargs):
        return TypedStorage(*args, dtype=cls.dtype, **kwargs)

    return _LegacyStorageMeta(
        name, (TypedStorage,), {"dtype": dtype, "__new__": __new__, "__module__": "ember"}
    )


LEGACY_STORAGES = {
    legacy: _legacy_class(legacy, getattr(_dtype, name))
    for name, legacy in _LEGACY_NAMES.items()
    if isinstance(getattr(_dtype, name, None), _dtype.dtype)
}
