"""Comparisons, logical ops, elementwise predicates and ``where``: results that carry no
gradient (``where`` passes its inputs' gradients through)."""

from functools import partial

import numpy as np

from ember import _dtype
from ember._ops._promotion import (
    NoGradBinary,
    apply_binary,
    broadcast_error,
    maybe_out,
    operand_array,
    result_dtype,
    zeros_like_t,
)
from ember._tensor import Tensor, wrap
from ember.autograd.function import PROFILER, ArrayFunction
from ember.backends.numpy.select import select
from ember.backends.numpy.threads import elementwise

__all__ = [
    "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less", "less_equal",
    "not_equal", "logical_and", "logical_or", "logical_xor", "logical_not", "isnan", "isinf",
    "isfinite", "isposinf", "isneginf", "signbit", "allclose", "isclose", "equal", "where",
]  # fmt: skip


class _Comparison(NoGradBinary):
    """A comparison: its bool result never records, so on plain NumPy arrays (no profiler
    listening) the forward runs alone, without the op's node."""

    @classmethod
    def apply_binary(cls, a, b, dtype):
        bd = b._data if isinstance(b, Tensor) else b
        if (
            a._data.__class__ is np.ndarray
            and PROFILER[0] is None
            and (bd is b or bd.__class__ is np.ndarray)
        ):
            return wrap(np.asarray(cls.forward(None, a._data, bd, dtype)))  # (0-d: a scalar)
        return super().apply_binary(a, b, dtype)


def _compare(name, np_fn):
    threaded = partial(elementwise, np_fn)
    cls = type(name.capitalize(), (_Comparison,), {"np_fn": staticmethod(threaded)})

    def fn(input, other, *, out=None):
        if other is None:
            return False if name == "eq" else True
        if not isinstance(input, Tensor):
            input = wrap(np.asarray(input))
        dt = result_dtype(input, other)
        if dt.kind == "c" and name not in ("eq", "ne"):  # complex numbers have no order
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{_complex_name(dt)}'")
        # (a bool result records no graph: inputs that require grad need no detaching)
        return maybe_out(apply_binary(cls, name, input, other, dt), out)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise comparison '{name}', giving a bool tensor."
    return fn


def _complex_name(dt):
    return "ComplexFloat" if dt == np.complex64 else "ComplexDouble"


eq = _compare("eq", np.equal)
ne = _compare("ne", np.not_equal)
lt = _compare("lt", np.less)
le = _compare("le", np.less_equal)
gt = _compare("gt", np.greater)
ge = _compare("ge", np.greater_equal)
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def _logical(name, np_fn):
    def fn(input, other, *, out=None):
        a = input._data if isinstance(input, Tensor) else np.asarray(input)
        b = other._data if isinstance(other, Tensor) else np.asarray(other)
        try:
            return maybe_out(wrap(np.asarray(np_fn(a, b))), out)
        except ValueError:
            raise broadcast_error(name, a, b) from None

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name}, giving a bool tensor."
    return fn


logical_and = _logical("logical_and", np.logical_and)
logical_or = _logical("logical_or", np.logical_or)
logical_xor = _logical("logical_xor", np.logical_xor)


def _predicate(name, np_fn):
    def fn(input):
        return wrap(np.asarray(np_fn(input._data)))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name}, giving a bool tensor."
    return fn


isnan = _predicate("isnan", np.isnan)
isinf = _predicate("isinf", np.isinf)
isfinite = _predicate("isfinite", np.isfinite)
isposinf = _predicate("isposinf", np.isposinf)
isneginf = _predicate("isneginf", np.isneginf)
signbit = _predicate("signbit", np.signbit)
logical_not = _predicate("logical_not", np.logical_not)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(np.allclose(input._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    o = other._data if isinstance(other, Tensor) else other
    return wrap(np.isclose(input._data, o, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input, other):
    return input.shape == other.shape and bool(np.array_equal(input._data, other._data))


class Where(ArrayFunction):
    @staticmethod
    def forward(ctx, cond, a, b, dtype):
        ctx.save_for_backward(cond)
        a, b = operand_array(a, dtype), operand_array(b, dtype)
        return elementwise(select, cond, a, b, dtype=dtype).astype(dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (c,) = ctx.saved_tensors
        z = zeros_like_t(g)
        return None, where(c, g, z), where(c, z, g), None


def where(condition, input=None, other=None, *, out=None):
    """Elements of ``input`` where ``condition`` holds, else of ``other``; one-argument form
    gives the indices of the true elements, like ``nonzero(as_tuple=True)``."""
    if input is None and other is None:
        return condition.nonzero(as_tuple=True)
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        if cond.dtype == np.uint8:
            cond = cond.astype(bool)
        else:
            raise RuntimeError(
                f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                f"{_dtype.from_np(cond.dtype).name}"
            )
    dt = _dtype.result_type(input, other).np
    try:
        same = isinstance(condition, Tensor) and cond is condition._data
        return maybe_out(Where.apply(condition if same else cond, input, other, dt), out)
    except ValueError:
        raise RuntimeError(
            f"where: shapes cannot be broadcast together: condition {list(cond.shape)}, input "
            f"{list(getattr(input, 'shape', []))}, other {list(getattr(other, 'shape', []))}"
        ) from None


def where_method(self, condition, other):
    """``Tensor.where``: ``self`` where ``condition`` holds, else ``other``."""
    return where(condition, self, other)
