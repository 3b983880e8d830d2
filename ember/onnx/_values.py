"""What a traced value is during export: an ONNX tensor, a dynamic size, or a Python constant.

`TensorValue` names an ONNX value and keeps the traced tensor's shape and dtype (from a run on
the example inputs). `SizeValue` is a size read from a tensor (``x.size(0)``, ``x.shape[1]``):
an int64 tensor of one element, so that a reshape built from it keeps following the input's
size when an axis is exported as dynamic. Anything else (ints, floats, tuples, dtypes) is a
Python constant, known at export time.
"""

from dataclasses import dataclass

import numpy as np


@dataclass
class TensorValue:
    name: str
    shape: tuple
    dtype: object

    @property
    def rank(self):
        return len(self.shape)


@dataclass
class SizeValue:
    name: str  # int64 tensor of shape (1,)
    static: int  # its value on the example inputs

    def __index__(self):
        return self.static


@dataclass
class ShapeValue:
    """A whole ``x.shape`` / ``x.size()``; indexing it gives `SizeValue`s."""

    name: str  # int64 tensor of shape (rank,)
    static: tuple


def shape_input(builder, sizes):
    """An int64 1-D ONNX tensor from a list of ints and `SizeValue`s (Concat when dynamic)."""
    if isinstance(sizes, ShapeValue):
        return sizes.name
    sizes = list(sizes)
    if all(not isinstance(s, SizeValue) for s in sizes):
        return builder.const([int(s) for s in sizes])
    parts = [s.name if isinstance(s, SizeValue) else builder.const([int(s)]) for s in sizes]
    return builder.op("Concat", parts, axis=0, hint="shape")


def static_sizes(sizes):
    if isinstance(sizes, ShapeValue):
        return tuple(sizes.static)
    return tuple(int(s.static) if isinstance(s, SizeValue) else int(s) for s in sizes)


def onnx_dtype(onnx, dtype):
    """The TensorProto element type of an ember dtype."""
    np_dtype = np.dtype(dtype.np if hasattr(dtype, "np") else dtype)
    return onnx.helper.np_dtype_to_tensor_dtype(np_dtype)
