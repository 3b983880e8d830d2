"""What every elementwise op shares: PyTorch's result dtype, operand casts, broadcast errors,
``out=`` handling, and the base for binary ops that record no gradient."""

import numpy as np

from ember import _dtype
from ember._tensor import Tensor, wrap
from ember.autograd.function import ArrayFunction


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
    try:
        return cls.apply(a, b, dtype)
    except ValueError as e:
        if "broadcast" in str(e):
            raise broadcast_error(op, a, b) from None
        raise


def maybe_out(result, out):
    """Write ``result`` into a user-given ``out`` tensor (resized as PyTorch does)."""
    if out is None:
        return result
    if out._data.shape != result._data.shape:
        out._data = np.empty(result._data.shape, out._data.dtype)
    np.copyto(out._data, result._data, casting="unsafe")
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
