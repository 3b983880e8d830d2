"""ember.types: the type aliases torch.types gives for annotations."""

import os
from typing import IO, TypeAlias, Union

from ember._device import device as _device_type
from ember._dtype import dtype as _dtype_type
from ember._tensor import Size, Tensor

__all__ = ["Device", "FileLike", "Number", "Size", "Storage", "Tensor", "py_sym_types"]

Number: TypeAlias = Union[int, float, bool]  # noqa: UP007 - kept a runtime object as in PyTorch
Device: TypeAlias = Union[_device_type, str, int, None]  # noqa: UP007
FileLike: TypeAlias = Union[str, os.PathLike, IO[bytes]]  # noqa: UP007
_int = int
_float = float
_bool = bool
_complex = complex
_str = str
_dtype = _dtype_type
_device = Device
_size: TypeAlias = Union[Size, list, tuple]  # noqa: UP007
_TensorOrTensors: TypeAlias = Union[Tensor, tuple]  # noqa: UP007
# Symbolic sizes exist only under PyTorch's compiler; ember has none.
py_sym_types = ()


class Storage:
    """The type of a tensor's storage in annotations; ember's tensors own arrays instead."""
