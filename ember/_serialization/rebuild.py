"""ember's counterparts of the functions a PyTorch checkpoint calls to rebuild its tensors.

A pickled tensor is a call such as ``torch._utils._rebuild_tensor_v2(storage, offset, size,
stride, requires_grad, hooks)`` whose storage comes from the archive by persistent id. Both
unpicklers map those names to the functions here, which check every argument against the
storage before building a view of it, and turn an unsupported feature (backward hooks, tensor
attributes, sparse layouts) into a clear error.
"""

from collections import OrderedDict

from ember import _dtype
from ember._serialization import memory
from ember._serialization.errors import CheckpointError
from ember._subclasses import parameter_class
from ember._tensor import Tensor, wrap

__all__ = [
    "StorageType", "LoadedStorage", "rebuild_tensor", "rebuild_tensor_v2", "rebuild_parameter",
    "rebuild_parameter_with_state", "rebuild_from_type_v2", "unsupported", "check_layout",
    "storage_array",
]  # fmt: skip


class StorageType:
    """Stands for ``torch.FloatStorage`` and friends: the element type of a storage."""

    __slots__ = ("name", "dtype")

    def __init__(self, name, dtype):
        self.name, self.dtype = name, dtype

    def __repr__(self):
        return f"torch.{self.name}"


class LoadedStorage:
    """A storage read from the archive: a 1-D uint8 array (NumPy or CuPy) and its dtype."""

    __slots__ = ("array", "dtype", "key", "what")

    def __init__(self, array, dtype, key, what):
        self.array, self.dtype, self.key, self.what = array, dtype, key, what


def rebuild_tensor(storage, storage_offset, size, stride):
    return rebuild_tensor_v2(storage, storage_offset, size, stride, False, OrderedDict())


def rebuild_tensor_v2(
    storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None
):
    what, name = check_layout(storage, storage_offset, size, stride, requires_grad)
    if backward_hooks:
        raise CheckpointError(f"{what}: {name} carries backward hooks, which ember does not load")
    if metadata:
        raise CheckpointError(f"{what}: {name} carries metadata {metadata!r:.80}")
    if storage.dtype.is_quantized:
        raise CheckpointError(f"{what}: {name} has a quantized storage but is not quantized")
    t = wrap(storage_array(storage, storage_offset, size, stride, what, name))
    if requires_grad:
        if not (storage.dtype.is_floating_point or storage.dtype.is_complex):
            raise CheckpointError(f"{what}: {name} of dtype {storage.dtype} requires grad")
        t.requires_grad_(True)
    return t


def rebuild_tensor_v3(
    storage, storage_offset, size, stride, requires_grad, backward_hooks, dtype, metadata=None
):
    """A tensor of ``dtype`` read from an untyped (byte) storage: how PyTorch saves dtypes
    that have no typed storage class, such as the float8 family."""
    if not isinstance(dtype, _dtype.dtype) or dtype.is_quantized:
        raise CheckpointError(f"a tensor is rebuilt with dtype {dtype!r:.40}")
    if not isinstance(storage, LoadedStorage) or storage.dtype is not _dtype.uint8:
        raise CheckpointError("_rebuild_tensor_v3 needs an untyped storage")
    if storage.array.nbytes % dtype.itemsize:
        raise CheckpointError(
            f"{storage.what}: storage {storage.key!r} of {storage.array.nbytes} bytes does not "
            f"hold whole {dtype} elements"
        )
    typed = LoadedStorage(storage.array, dtype, storage.key, storage.what)
    return rebuild_tensor_v2(
        typed, storage_offset, size, stride, requires_grad, backward_hooks, metadata
    )


def check_layout(storage, storage_offset, size, stride, requires_grad):
    """``(what, name)`` for messages, once the layout is checked against the storage."""
    if not isinstance(storage, LoadedStorage):
        raise CheckpointError(f"a tensor is rebuilt from {type(storage).__name__}, not a storage")
    what, name = storage.what, f"the tensor on storage {storage.key!r}"
    if not (
        type(storage_offset) is int
        and _ints(size)
        and _ints(stride)
        and len(size) == len(stride)
        and storage_offset >= 0
        and all(s >= 0 for s in stride)
        and isinstance(requires_grad, bool)
    ):
        raise CheckpointError(
            f"{what}: {name} has an invalid layout (offset {storage_offset!r:.40}, size "
            f"{size!r:.80}, stride {stride!r:.80})"
        )
    return what, name


def storage_array(storage, storage_offset, size, stride, what, name):
    """The array a tensor of this layout views in ``storage`` (checked to lie inside it)."""
    item = storage.dtype.itemsize
    return memory.view(
        storage.array,
        storage.dtype.np,
        tuple(size),
        tuple(s * item for s in stride),
        storage_offset * item,
        what,
        name,
    )


def rebuild_parameter(data, requires_grad, backward_hooks):
    Parameter = parameter_class()

    if type(data) is not Tensor or not isinstance(requires_grad, bool):
        raise CheckpointError(f"a Parameter is rebuilt from {type(data).__name__}, not a tensor")
    if backward_hooks:
        raise CheckpointError("a Parameter carries backward hooks, which ember does not load")
    return Parameter(data, requires_grad=requires_grad)


def rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    if state:
        raise CheckpointError(
            f"a Parameter carries Python attributes ({_names(state)}), which ember does not load"
        )
    return rebuild_parameter(data, requires_grad, backward_hooks)


def rebuild_from_type_v2(func, new_type, args, state):
    """A tensor of a subclass or with Python attributes: ember loads plain tensors only."""
    Parameter = parameter_class()

    if func is not rebuild_tensor_v2 or new_type not in (Tensor, Parameter):
        raise CheckpointError(f"a tensor subclass {new_type!r:.80} cannot be loaded by ember")
    if state:
        raise CheckpointError(
            f"a tensor carries Python attributes ({_names(state)}), which ember does not load"
        )
    t = func(*args)
    return t if new_type is Tensor else Parameter(t, requires_grad=t.requires_grad)


def unsupported(kind):
    """A stand-in for a rebuild function of a tensor kind ember does not have."""

    def refuse(*args):
        raise CheckpointError(f"the checkpoint holds {kind} tensors, which ember does not support")

    return refuse


def _ints(x):
    return isinstance(x, tuple | list) and all(type(v) is int for v in x)


def _names(state):
    if isinstance(state, dict):
        return ", ".join(repr(k)[:40] for k in list(state)[:5])
    return f"{type(state).__name__}"
