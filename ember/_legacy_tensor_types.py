"""The legacy typed constructors: ``FloatTensor``, ``LongTensor``, ... and their ``cuda`` twins.

As in PyTorch they are not subclasses of Tensor: calling one makes a plain Tensor of its dtype
(``FloatTensor(2, 3)`` an uninitialised 2x3 float32 tensor, ``LongTensor([1, 2])`` a copy of the
data), and ``isinstance(t, FloatTensor)`` asks whether ``t`` is a float32 tensor on that device
type. The ``cuda`` ones exist so that programs can name them; making one needs a GPU backend.
"""

from ember import _dtype
from ember._device import resolve_device
from ember._tensor import Size, Tensor

__all__ = ["LegacyTensorType", "TYPE_NAMES", "make_types"]

_NAMES = {
    "FloatTensor": _dtype.float32, "DoubleTensor": _dtype.float64, "HalfTensor": _dtype.float16,
    "BFloat16Tensor": _dtype.bfloat16, "LongTensor": _dtype.int64, "IntTensor": _dtype.int32,
    "ShortTensor": _dtype.int16, "CharTensor": _dtype.int8, "ByteTensor": _dtype.uint8,
    "BoolTensor": _dtype.bool,
}  # fmt: skip


class LegacyTensorType(type):
    """The metaclass: instances are tensors of the class's dtype and device type."""

    def __instancecheck__(cls, obj):
        return (
            isinstance(obj, Tensor)
            and obj.dtype is cls.dtype
            and obj.device.type == ("cuda" if cls.is_cuda else "cpu")
        )

    def __call__(cls, *args, device=None, size=None):
        qualname = f"{cls.__module__}.{cls.__name__}"
        if cls.is_cuda:
            raise TypeError(f"type {qualname} not available: ember has no GPU backend yet")
        resolve_device(device, qualname)
        if size is not None:
            args = (*args, *size)
        if len(args) == 1 and isinstance(args[0], Tensor):
            if args[0].dtype is not cls.dtype:
                raise TypeError(
                    f"{qualname}: expected a {cls.dtype} tensor to alias, got {args[0].dtype}; "
                    f"use tensor.to({cls.dtype}) to convert"
                )
            return args[0]
        if len(args) == 1 and not isinstance(args[0], Size | int):
            return Tensor(args[0], dtype=cls.dtype)
        shape = tuple(args[0]) if len(args) == 1 and isinstance(args[0], Size) else args
        return Tensor(*shape, dtype=cls.dtype) if shape else Tensor([], dtype=cls.dtype)


TYPE_NAMES = tuple(_NAMES)


def make_types(module, is_cuda):
    """The legacy types for ``module`` (``ember`` or ``ember.cuda``), in ``TYPE_NAMES`` order."""
    return tuple(
        LegacyTensorType(name, (), {"dtype": dt, "is_cuda": is_cuda, "__module__": module})
        for name, dt in _NAMES.items()
    )
