"""What every elementwise op shares: PyTorch's result dtype, operand casts, broadcast errors,
``out=`` handling, and the base for binary ops that record no gradient."""

import warnings

import numpy as np

from ember import _dtype
from ember._meta import MetaArray, meta_array
from ember._tensor import Tensor, wrap
from ember.autograd.function import ArrayFunction
from ember.backends.registry import xp


def cast(arr, dtype):
    return arr if arr.dtype == dtype else arr.astype(dtype)


def result_dtype(a, b):
    """Result dtype of a binary op (fast path for two tensors of one dtype)."""
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        if a._data.dtype == b._data.dtype:
            return a._data.dtype
    elif isinstance(a, Tensor) and isinstance(b, float) and a._data.dtype.kind == "f":
        return a._data.dtype
    rt = _dtype.result_type(a, b)
    if rt is None:
        raise TypeError("expected at least one Tensor argument")
    return rt.np


def operand_array(x, dtype):
    """An operand array cast to the computation dtype; a Python number stays a number."""
    if isinstance(x, np.ndarray):
        return x if x.dtype == dtype else x.astype(dtype)
    if type(x) is int and dtype.kind in "iu":
        return np.array(x).astype(dtype)  # an out-of-range int wraps around, as in PyTorch
    return x


def broadcast_error(op, a, b):
    sa = list(a.shape) if hasattr(a, "shape") else []
    sb = list(b.shape) if hasattr(b, "shape") else []
    return RuntimeError(
        f"{op}: The size of tensor a ({sa}) must match the size of tensor b ({sb}) at "
        "non-singleton dimension (shapes cannot be broadcast together)"
    )


def apply_binary(cls, op, a, b, dtype):
    """``cls.apply(a, b, dtype)``, with PyTorch's error for operands that do not broadcast."""
    try:
        return cls.apply_binary(a, b, dtype)
    except ValueError as e:
        if "broadcast" in str(e):
            raise broadcast_error(op, a, b) from None
        raise


_TORCH_TYPE_NAMES = {
    "float16": "Half", "bfloat16": "BFloat16", "float32": "Float", "float64": "Double",
    "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long", "uint8": "Byte",
    "bool": "Bool", "complex64": "ComplexFloat", "complex128": "ComplexDouble",
    "float8_e4m3fn": "Float8_e4m3fn", "float8_e5m2": "Float8_e5m2",
    "float8_e4m3fnuz": "Float8_e4m3fnuz", "float8_e5m2fnuz": "Float8_e5m2fnuz",
    "qint8": "QInt8", "quint8": "QUInt8", "qint32": "QInt32",
}  # fmt: skip


def torch_type_name(d):
    """PyTorch's C++ name of a dtype, as its error messages spell it (float32: "Float")."""
    return _TORCH_TYPE_NAMES[d.name]


def can_cast(from_, to):
    """PyTorch's casting rule for results written into an existing tensor: never complex to
    non-complex, floating to integral, or non-bool to bool; every other cast (narrowing ones
    included, such as float64 to float32 or int64 to uint8) is allowed."""
    if from_.is_complex and not to.is_complex:
        return False
    if from_.is_floating_point and to.category in (_dtype._INT, _dtype._BOOL):
        return False
    return from_ is _dtype.bool or to is not _dtype.bool


_RESIZE_WARNING = (
    "An output with one or more elements was resized since it had shape {old}, which does "
    "not match the required output shape {new}. This behavior is deprecated, and in a future "
    "release outputs will not be resized unless they have zero elements. You can explicitly "
    "reuse an out tensor t by resizing it, inplace, to zero elements with t.resize_(0)."
)


def _empty_like_out(out_array, shape):
    if isinstance(out_array, MetaArray):
        return meta_array(shape, out_array.dtype)
    return xp(out_array).empty(shape, out_array.dtype)


def maybe_out(result, out):
    """Write ``result`` into a user-given ``out`` tensor, under PyTorch's rules: the result's
    dtype must cast to ``out``'s (see ``can_cast``), an ``out`` of another shape is resized
    (with a warning unless it was empty), and no input may need a gradient while grad mode
    records, since writing into ``out`` cannot be differentiated."""
    if out is None:
        return result
    if result.grad_fn is not None:
        op = type(result.grad_fn).__name__.removesuffix("Backward")
        raise RuntimeError(
            f"{op.lower()}(): functions with out=... arguments don't support automatic "
            "differentiation, but one of the arguments requires grad."
        )
    src, dst = result._data, out._data
    if src.dtype != dst.dtype:
        rt, ot = _dtype.from_np(src.dtype), _dtype.from_np(dst.dtype)
        if not can_cast(rt, ot):
            raise RuntimeError(
                f"result type {torch_type_name(rt)} can't be cast to the desired output type "
                f"{torch_type_name(ot)}"
            )
    if dst.shape != src.shape:
        if dst.size:
            warnings.warn(
                _RESIZE_WARNING.format(old=list(dst.shape), new=list(src.shape)),
                UserWarning,
                stacklevel=3,
            )
        out._data = _empty_like_out(dst, src.shape)
    xp(out._data).copyto(out._data, src, casting="unsafe")
    out._bump_version()
    return out


def detached(x):
    return x.detach() if isinstance(x, Tensor) else x


def zeros_like_t(t):
    return wrap(np.zeros_like(t._data))


def ones_like_t(t):
    return wrap(np.ones_like(t._data))


class NoGradBinary(ArrayFunction):
    """Binary ops without gradient (comparisons, integer arithmetic): forward only."""

    np_fn = None

    @classmethod
    def forward(cls, ctx, a, b, dtype):
        return cls.np_fn(operand_array(a, dtype), operand_array(b, dtype))

    @staticmethod
    def backward(ctx, g):
        return None, None, None
