"""Pickling an object the way ``torch.save`` does, so that PyTorch can read the result.

Tensors become calls to ``torch._utils._rebuild_tensor_v2`` (Parameters to
``torch._utils._rebuild_parameter``) on storages that the pickle names by persistent id
``('storage', torch.FloatStorage, key, location, numel)``; the storages' bytes go to separate
archive records. Dtypes, devices and sizes pickle as ``torch.float32``, ``torch.device`` and
``torch.Size``. Everything else pickles as Python pickles it, ember's own classes under their
``ember.*`` names.

The pickler is Python's own pure-Python one, subclassed: its ``save_global`` can write a name
such as ``torch._utils._rebuild_tensor_v2`` without importing the module it names.

Tensors whose arrays view one NumPy allocation share one storage, which holds the whole
allocation, as in PyTorch. A tensor whose layout a PyTorch storage cannot describe (negative
strides, an offset that is not a whole number of elements, another dtype than the storage's
first tensor) gets a contiguous storage of its own. CUDA tensors are copied to the host; each
gets its own storage.
"""

import pickle
from collections import OrderedDict

import numpy as np

from ember._device import device
from ember._dtype import dtype
from ember._serialization import quantized
from ember._serialization.dtypes import TORCH_STORAGE
from ember._serialization.script_object import ScriptObject
from ember._subclasses import parameter_class
from ember._tensor import Size, Tensor

__all__ = ["CheckpointPickler", "StorageRecord"]


class _TorchName:
    """A global of PyTorch's, written into the pickle by its name."""

    __slots__ = ("module", "name")

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __reduce__(self):
        return self.name  # pickle then calls save_global, which writes the name

    def __call__(self, *args):  # pickle accepts only callables as reduce functions
        raise TypeError(f"{self.module}.{self.name} is a name in a checkpoint, not a function")


_NAMES = {}


def _torch(module, name):
    """One object per name, so the pickle memo writes each global once, as PyTorch's does."""
    key = (module, name)
    if key not in _NAMES:
        _NAMES[key] = _TorchName(module, name)
    return _NAMES[key]


class StorageRecord:
    """One storage to write: its key, dtype, saved location, element count and host bytes."""

    __slots__ = ("key", "dtype", "location", "numel", "data", "lo")

    def __init__(self, key, dtype, location, data, lo=0):
        self.key, self.dtype, self.location = key, dtype, location
        self.numel = data.nbytes // dtype.itemsize
        self.data = data  # a flat uint8 NumPy array
        self.lo = lo  # the address of its first byte (NumPy storages)


class _TensorData:
    """``param.data`` inside a pickled Parameter: the tensor, pickled without requires_grad."""

    __slots__ = ("tensor",)

    def __init__(self, tensor):
        self.tensor = tensor


class CheckpointPickler(pickle._Pickler):
    """Pickles with protocol 2 into ``file``; ``storages`` lists the storages referenced."""

    def __init__(self, file):
        super().__init__(file, protocol=2)
        self.storages = []
        self._by_base = {}  # id of a root NumPy array -> (array, StorageRecord)
        self._locations = {}

    def persistent_id(self, obj):
        if type(obj) is not StorageRecord:
            return None
        name = TORCH_STORAGE.get(obj.dtype)
        if name is None:  # a dtype with no typed storage: bytes, read by _rebuild_tensor_v3
            return ("storage", _torch("torch.storage", "UntypedStorage"), obj.key, obj.location,
                    obj.data.nbytes)  # fmt: skip
        return ("storage", _torch("torch", name), obj.key, obj.location, obj.numel)

    def reducer_override(self, obj):
        if isinstance(obj, Tensor):
            Parameter = parameter_class()

            if isinstance(obj, Parameter):
                rebuild = _torch("torch._utils", "_rebuild_parameter")
                return rebuild, (_TensorData(obj), obj.requires_grad, OrderedDict())
            return self._rebuild(obj, obj.requires_grad)
        if type(obj) is _TensorData:
            return self._rebuild(obj.tensor, False)
        if isinstance(obj, dtype):
            return obj.name  # save_global writes it as torch.<name>
        if isinstance(obj, device):
            args = (obj.type,) if obj.index is None else (obj.type, obj.index)
            return _torch("torch", "device"), args
        if type(obj) is Size:
            return _torch("torch", "Size"), (tuple(obj),)
        reduce = quantized.reducer(obj)
        if reduce is not None:
            return reduce(self, obj)
        return NotImplemented

    def save(self, obj, save_persistent_id=True):
        if type(obj) is ScriptObject:
            self._save_script_object(obj)
        else:
            super().save(obj, save_persistent_id)

    def _save_script_object(self, obj):
        """As PyTorch writes one: ``torch.ScriptObject`` made empty, then BUILD with its
        ``(state, class name)``."""
        seen = self.memo.get(id(obj))
        if seen is not None:
            self.write(self.get(seen[0]))
            return
        self.save(_torch("torch", "ScriptObject"))
        self.write(pickle.EMPTY_TUPLE + pickle.NEWOBJ)
        self.memoize(obj)
        self.save(obj.__getstate__())
        self.write(pickle.BUILD)

    def save_global(self, obj, name=None):
        if isinstance(obj, _TorchName):
            self._global(obj.module, obj.name, obj)
        elif isinstance(obj, dtype) or quantized.pickles_by_name(obj):
            self._global("torch", obj.name, obj)
        else:
            super().save_global(obj, name)

    def _global(self, module, name, obj):
        self.write(pickle.GLOBAL + f"{module}\n{name}\n".encode())
        self.memoize(obj)

    def own_storage(self, arr, dt):
        """``(StorageRecord, element offset, element strides)`` of a contiguous copy of the
        host array ``arr``, stored as dtype ``dt`` (for registered reducers)."""
        return self._own(arr, dt, "cpu")

    @staticmethod
    def torch_global(module, name):
        """An object that pickles as the global ``module.name`` of PyTorch's (for registered
        reducers)."""
        return _torch(module, name)

    def _rebuild(self, t, requires_grad):
        storage, offset, stride = self._storage_of(t)
        args = (storage, offset, tuple(t.shape), stride, requires_grad, OrderedDict())
        if t.dtype in TORCH_STORAGE:
            return _torch("torch._utils", "_rebuild_tensor_v2"), args
        if t.dtype.is_floating_point:  # float8: PyTorch names the dtype in the call instead
            return _torch("torch._utils", "_rebuild_tensor_v3"), (*args, t.dtype)
        raise TypeError(f"ember.save: tensors of dtype {t.dtype} cannot be saved")

    def _storage_of(self, t):
        """``(StorageRecord, element offset, element strides)`` for tensor ``t``."""
        arr, location = t._data, str(t.device)
        location = self._locations.setdefault(location, location)
        if not isinstance(arr, np.ndarray):
            return self._own(np.ascontiguousarray(arr.get()), t.dtype, location)
        root = _root(arr)
        seen = self._by_base.get(id(root))
        if seen is None:
            span = _span(root)
            if span is None:
                return self._own(arr, t.dtype, location)
            record = self._new(span, t.dtype, location, _address(root))
            self._by_base[id(root)] = seen = (root, record)
        record = seen[1]
        layout = _layout(arr, record)
        if record.dtype != t.dtype or layout is None:
            return self._own(arr, t.dtype, location)
        return (record, *layout)

    def _own(self, arr, dt, location):
        host = np.ascontiguousarray(arr)
        record = self._new(host.reshape(-1).view(np.uint8), dt, location, _address(host))
        return record, 0, _c_strides(host.shape)

    def _new(self, data, dt, location, lo):
        record = StorageRecord(str(len(self.storages)), dt, location, data, lo)
        self.storages.append(record)
        return record


def _root(arr):
    while isinstance(arr.base, np.ndarray):
        arr = arr.base
    return arr


def _address(arr):
    return arr.__array_interface__["data"][0]


def _span(root):
    """The bytes of a contiguous root array as a flat uint8 view, or None."""
    if root.flags.c_contiguous or root.flags.f_contiguous:
        return np.ravel(root, order="K").view(np.uint8)
    return None


def _layout(arr, record):
    """``(element offset, element strides)`` of ``arr`` inside ``record``, or None when a
    PyTorch storage of ``record``'s dtype cannot describe it."""
    item = record.dtype.itemsize
    offset = _address(arr) - record.lo
    if record.data.nbytes % item or offset % item or offset < 0:
        return None
    if any(s < 0 or s % item for s in arr.strides):
        return None
    return offset // item, tuple(s // item for s in arr.strides)


def _c_strides(shape):
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))
