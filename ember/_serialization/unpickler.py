"""A pickle reader that admits only the globals a PyTorch tensor checkpoint needs.

``torch.save`` pickles tensors as calls to a few rebuild functions on storages that live in
other files of the archive. This reader maps those names to ember's own functions and refuses
every other global before anything is called, so a file can build tensors, containers, numbers
and strings, and nothing else. Every object a global yields is fresh for each load (bound
methods, per-load markers), so a hostile pickle cannot alter ember's module-level objects
through pickle's BUILD opcode; dtype values are swapped in after loading for the same reason.
"""

import codecs
import pickle
from collections import OrderedDict

from ember import _device
from ember._serialization.dtypes import FROM_TORCH_DTYPE, FROM_TORCH_STORAGE
from ember._serialization.errors import CheckpointError, UnsafeCheckpointError

__all__ = ["RestrictedUnpickler"]

_REBUILDERS = {
    ("torch._utils", "_rebuild_tensor"): "_rebuild_tensor",
    ("torch._utils", "_rebuild_tensor_v2"): "_rebuild_tensor_v2",
    ("torch._utils", "_rebuild_parameter"): "_rebuild_parameter",
    ("torch._utils", "_rebuild_parameter_with_state"): "_rebuild_parameter_with_state",
    ("torch", "device"): "_device",
    ("torch", "Size"): "_size",
    ("_codecs", "encode"): "_encode",
}


class _StorageType:
    """Stands for ``torch.FloatStorage`` and friends: the element type of a storage."""

    __slots__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = dtype


class _DtypeRef:
    """Stands for ``torch.float32`` and friends until loading ends."""

    __slots__ = ("dtype",)

    def __init__(self, dtype):
        self.dtype = dtype


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles ``data.pkl`` of a PyTorch zip checkpoint.

    ``load_storage(key, dtype, location, numel)`` returns the storage ``key`` as a 1-D uint8
    array placed where ``map_location`` says; ``make_tensor(storage, dtype, offset, size,
    stride, requires_grad)`` builds a tensor on it; ``make_parameter(tensor, requires_grad)``
    wraps one as a Parameter.
    """

    def __init__(self, file, what, load_storage, make_tensor, make_parameter):
        super().__init__(file)
        self._what = what
        self._load_storage = load_storage
        self._make_tensor = make_tensor
        self._make_parameter = make_parameter
        self._storages = {}

    def find_class(self, module, name):
        method = _REBUILDERS.get((module, name))
        if method is not None:
            return getattr(self, method)
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch" and name in FROM_TORCH_STORAGE:
            return _StorageType(FROM_TORCH_STORAGE[name])
        if module == "torch" and name in FROM_TORCH_DTYPE:
            return _DtypeRef(FROM_TORCH_DTYPE[name])
        raise UnsafeCheckpointError(
            f"ember.load refused the global '{module}.{name}' in {self._what}: ember reads "
            "tensors, containers, numbers and strings from PyTorch checkpoints and never runs "
            "code from a file. Save a state_dict (model.state_dict()) instead of whole objects."
        )

    def persistent_load(self, pid):
        if not (
            isinstance(pid, tuple)
            and len(pid) == 5
            and pid[0] == "storage"
            and isinstance(pid[1], _StorageType)
            and isinstance(pid[2], str)
            and isinstance(pid[3], str)
            and type(pid[4]) is int
        ):
            raise CheckpointError(f"{self._what}: unsupported persistent id {str(pid)[:80]}")
        _, kind, key, location, numel = pid
        if key not in self._storages:
            self._storages[key] = self._load_storage(key, kind.dtype, location, numel)
        return (self._storages[key], kind.dtype)

    def _rebuild_tensor(self, storage, storage_offset, size, stride):
        return self._rebuild_tensor_v2(storage, storage_offset, size, stride, False, None)

    def _rebuild_tensor_v2(
        self, storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None
    ):
        if not (isinstance(storage, tuple) and len(storage) == 2):
            raise CheckpointError(f"{self._what}: a tensor is rebuilt from a non-storage")
        arr, dtype = storage
        return self._make_tensor(arr, dtype, storage_offset, size, stride, requires_grad)

    def _rebuild_parameter(self, data, requires_grad, backward_hooks):
        return self._make_parameter(data, requires_grad)

    def _rebuild_parameter_with_state(self, data, requires_grad, backward_hooks, state):
        return self._make_parameter(data, requires_grad)

    def _device(self, *args):
        return _device.device(*args)

    def _size(self, dims=()):
        dims = tuple(dims)
        if not all(type(d) is int for d in dims):
            raise CheckpointError(f"{self._what}: torch.Size of non-integers {dims!r:.80}")
        return dims

    def _encode(self, text, encoding="utf-8"):
        if not isinstance(text, str) or codecs.lookup(encoding).name not in ("iso8859-1", "utf-8"):
            raise CheckpointError(f"{self._what}: unsupported bytes encoding {encoding!r:.40}")
        return text.encode(encoding)


def resolve_dtypes(obj):
    """``obj`` with every dtype marker replaced by its ember dtype (containers rebuilt)."""
    memo = {}

    def walk(x):
        if isinstance(x, _DtypeRef):
            return x.dtype
        if isinstance(x, _StorageType):
            raise CheckpointError("a storage type appears outside a storage reference")
        if not isinstance(x, list | tuple | dict):
            return x
        if id(x) in memo:
            return memo[id(x)]
        if isinstance(x, list):
            out = memo[id(x)] = []
            out.extend(walk(v) for v in x)
        elif isinstance(x, tuple):
            out = memo[id(x)] = tuple(walk(v) for v in x)
        else:
            out = memo[id(x)] = OrderedDict() if isinstance(x, OrderedDict) else {}
            out.update((walk(k), walk(v)) for k, v in x.items())
            if isinstance(x, OrderedDict) and hasattr(x, "_metadata"):
                out._metadata = walk(x._metadata)
        return out

    return walk(obj)
