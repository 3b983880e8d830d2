"""Multi-tensor elementwise ops, ``ember._foreach_*``, as ``torch._foreach_*``.

Each op walks its lists once. A tensor whose update nothing records (grad mode off, or no
operand requires grad), whose operands have its dtype and broadcast to its shape (or are Python
numbers and it is floating) and whose memory has no repeated elements is written with NumPy
ufuncs straight into its array, and its version goes up as after any in-place op. Every other
tensor takes the per-tensor op (``Tensor.add_`` and the like), which promotes, checks, raises
on a leaf that requires grad, and records for autograd as usual.
"""

import functools
import math
import operator

import numpy as np

from ember._ops import arithmetic, unary
from ember._ops.linalg import vector_norm
from ember._tensor import Tensor, wrap
from ember.autograd.grad_mode import GRAD_ENABLED
from ember.autograd.inplace import has_internal_overlap, register_direct_writes
from ember.backends.onednn import binary as onednn_binary

__all__ = []

_SLOW = object()  # marks an operand that the per-tensor op must handle


def _export(fn):
    """Publish ``fn`` as ``_foreach_<name>``, refusing what PyTorch refuses as its first list."""
    name = "_foreach_" + fn.__name__

    @functools.wraps(fn)
    def op(self, *args, **kwargs):
        if not isinstance(self, (list, tuple)):
            raise TypeError(f"{name}: expected a list of tensors, got {type(self).__name__}")
        if not self:
            raise RuntimeError(f"{name}: Tensor list must have at least one tensor.")
        return fn(self, *args, **kwargs)

    op.__name__ = op.__qualname__ = name
    globals()[name] = op
    __all__.append(name)
    return op


def _same_length(op, tensors, *lists):
    for other in lists:
        if len(other) != len(tensors):
            raise RuntimeError(
                f"_foreach_{op}: tensor lists must have the same number of tensors, got "
                f"{len(tensors)} and {len(other)}"
            )


def _per_tensor(op, tensors, other):
    """The second operand of each tensor: a list of one per tensor, or one for all."""
    if isinstance(other, (list, tuple)):
        if len(other) != len(tensors):
            kind = "tensors" if other and isinstance(other[0], Tensor) else "scalars"
            raise RuntimeError(
                f"_foreach_{op}: tensor lists must have the same number of tensors as the "
                f"list of {kind}, got {len(tensors)} and {len(other)}"
            )
        return other
    return [other] * len(tensors)


def _check_alpha(op, other, alpha):
    """PyTorch takes ``alpha`` with a list of tensors as second operand, and (to add only)
    with one tensor."""
    if alpha == 1:
        return
    if isinstance(other, (list, tuple)) and (not other or isinstance(other[0], Tensor)):
        return
    if isinstance(other, Tensor) and op.startswith("add"):
        return
    raise TypeError(
        f"_foreach_{op}: alpha is not accepted with {type(other).__name__} as the second "
        "operand (only with a list of tensors"
        + (", or one tensor)" if op.startswith("add") else ")")
    )


def _operand(x, o, grad, float_only=False):
    """``o`` as an array or number that ufuncs can combine with ``x`` directly, or _SLOW."""
    dtype = x.dtype
    if isinstance(o, Tensor):
        a = o._data
        if (
            (a.dtype is not dtype and a.dtype != dtype)
            or (grad and o._requires_grad)
            or (float_only and dtype.kind not in "fc")
        ):
            return _SLOW
        return a
    if (type(o) is float or type(o) is int) and dtype.kind in "fc":
        return o
    return _SLOW


def _writable(t, grad):
    """``t``'s array when it may be written directly, else None (recorded, or expanded: an
    array that owns its memory, the common case, never repeats a location)."""
    x = t._data
    if (grad and t._requires_grad) or (
        x.base is not None and not x.flags.c_contiguous and has_internal_overlap(x)
    ):
        return None
    return x


# -- in-place binary ops -----------------------------------------------------------------------


def _binary_(op, into, method, tensors, other, alpha=1, float_only=False, scalar=None):
    """self[i] = into(self[i], alpha * other[i]); ``into(x, a, out)`` a ufunc, ``scalar`` the
    same operation on NumPy scalars (a 0-d tensor, a step count say, updated by a number takes
    it: ten times faster than a ufunc call)."""
    grad = GRAD_ENABLED[0]
    kwargs = {} if alpha == 1 else {"alpha": alpha}
    one_number = type(other) is float or type(other) is int
    numeric_alpha = type(alpha) is float or type(alpha) is int
    dtype = None
    for t, o in zip(tensors, _per_tensor(op, tensors, other)):
        x = t._data
        if x.dtype is not dtype:
            # NumPy scalars of x's dtype, made once per dtype: ufuncs take them faster than
            # Python numbers, which NumPy would cast to x's dtype anyway (same values)
            dtype = x.dtype
            inexact = dtype.kind in "fc"
            scale = dtype.type(alpha) if inexact and numeric_alpha and kwargs else None
            number = dtype.type(other * alpha) if inexact and one_number else None
        if (grad and t._requires_grad) or (
            x.base is not None and not x.flags.c_contiguous and has_internal_overlap(x)
        ):  # expanded: the op below refuses it
            method(t, o, **kwargs)
            continue
        if number is not None:
            a = number
        elif isinstance(o, Tensor):
            a = o._data
            if (
                (a.dtype is not dtype and a.dtype != dtype)
                or (grad and o._requires_grad)
                or (float_only and not inexact)
                or (kwargs and scale is None)
            ):
                method(t, o, **kwargs)
                continue
            if kwargs:
                if onednn_binary.compute(into, x, a, out=x, scale=scale) is not None:
                    t._vc[0] += 1  # x op= a * scale in one pass on oneDNN's threads
                    continue
                a = a * scale
        elif (type(o) is float or type(o) is int) and inexact and numeric_alpha:
            a = o * alpha
        else:
            method(t, o, **kwargs)
            continue
        try:
            if x.ndim or scalar is None or isinstance(a, np.ndarray):
                if onednn_binary.compute(into, x, a, out=x) is None:
                    into(x, a, x)
            else:
                x[()] = scalar(x[()], a)
        except ValueError:  # shapes that don't broadcast into x: the op below explains
            method(t, o, **kwargs)
            continue
        t._vc[0] += 1


def _maximum_into(x, a, out):
    return np.maximum(x, a, out=out)


def _minimum_into(x, a, out):
    return np.minimum(x, a, out=out)


@_export
def add_(self, other, *, alpha=1):
    """self[i] += alpha * other[i]; ``other`` a number, a list of numbers or of tensors, or
    one tensor for all."""
    _check_alpha("add_", other, alpha)
    _binary_("add_", np.add, Tensor.add_, self, other, alpha, scalar=operator.add)
    return self


@_export
def sub_(self, other, *, alpha=1):
    """self[i] -= alpha * other[i]."""
    _check_alpha("sub_", other, alpha)
    _binary_("sub_", np.subtract, Tensor.sub_, self, other, alpha, scalar=operator.sub)
    return self


@_export
def mul_(self, other):
    """self[i] *= other[i]."""
    _binary_("mul_", np.multiply, Tensor.mul_, self, other, scalar=operator.mul)
    return self


@_export
def div_(self, other):
    """self[i] /= other[i] (true division: integer tensors raise, as ``Tensor.div_``)."""
    _binary_("div_", np.divide, Tensor.div_, self, other, float_only=True, scalar=operator.truediv)
    return self


@_export
def maximum_(self, other):
    """self[i] = maximum(self[i], other[i]), NaN propagating."""
    _binary_("maximum_", _maximum_into, Tensor.maximum_, self, other)
    return self


@_export
def minimum_(self, other):
    """self[i] = minimum(self[i], other[i]), NaN propagating."""
    _binary_("minimum_", _minimum_into, Tensor.minimum_, self, other)
    return self


@_export
def copy_(self, src, non_blocking=False):
    """self[i] = src[i]."""
    _same_length("copy_", self, src)
    grad = GRAD_ENABLED[0]
    for t, s in zip(self, src):
        x = _writable(t, grad)
        a = _SLOW if x is None else _operand(x, s, grad)
        if isinstance(a, np.ndarray):
            try:
                np.copyto(x, a)
            except ValueError:
                a = _SLOW
        if not isinstance(a, np.ndarray):
            t.copy_(s)
            continue
        t._vc[0] += 1
    return self


# -- in-place ops of three operands ------------------------------------------------------------


def _ternary_(op, method, combine, self, tensor1, tensor2, scalars):
    """self[i] += scalars[i] * combine(tensor1[i], tensor2[i]); ``scalars`` a number, a list
    of numbers, or a 1-d tensor of one number per tensor."""
    _same_length(op, self, tensor1, tensor2)
    if isinstance(scalars, Tensor):
        scalars = scalars.tolist()
    grad = GRAD_ENABLED[0]
    one_number = type(scalars) is float or type(scalars) is int
    dtype = None
    for t, a, b, v in zip(self, tensor1, tensor2, _per_tensor(op, self, scalars)):
        x = t._data
        if x.dtype is not dtype:
            dtype = x.dtype
            inexact = dtype.kind in "fc"
            number = dtype.type(scalars) if inexact and one_number else None
        if (
            inexact
            and isinstance(a, Tensor)
            and isinstance(b, Tensor)
            and a._data.dtype is dtype
            and b._data.dtype is dtype
            and (number is not None or type(v) is float or type(v) is int)
            and not (grad and (t._requires_grad or a._requires_grad or b._requires_grad))
            and (x.base is None or x.flags.c_contiguous or not has_internal_overlap(x))
        ):
            tmp = combine(a._data, b._data)
            if v != 1:
                tmp *= v if number is None else number
            try:
                x += tmp
                t._vc[0] += 1
                continue
            except ValueError:  # shapes that don't broadcast into x: the op below explains
                pass
        method(t, a, b, value=v)


@_export
def addcmul_(self, tensor1, tensor2, scalars=1, *, value=None):
    """self[i] += value[i] * tensor1[i] * tensor2[i]."""
    _ternary_(
        "addcmul_", Tensor.addcmul_, np.multiply, self, tensor1, tensor2,
        scalars if value is None else value,
    )  # fmt: skip
    return self


@_export
def addcdiv_(self, tensor1, tensor2, scalars=1, *, value=None):
    """self[i] += value[i] * tensor1[i] / tensor2[i]."""
    _ternary_(
        "addcdiv_", Tensor.addcdiv_, np.divide, self, tensor1, tensor2,
        scalars if value is None else value,
    )  # fmt: skip
    return self


@_export
def lerp_(self, tensors1, weight):
    """self[i] += weight[i] * (tensors1[i] - self[i]); ``weight`` a number, a list of numbers
    or a list of tensors."""
    _lerp_(Tensor.lerp_, self, tensors1, weight)
    return self


def _lerp_(method, self, tensors1, weight):
    _same_length("lerp_", self, tensors1)
    grad = GRAD_ENABLED[0]
    one_number = type(weight) is float or type(weight) is int
    dtype = None
    for t, e, w in zip(self, tensors1, _per_tensor("lerp_", self, weight)):
        x = t._data
        if x.dtype is not dtype:
            dtype = x.dtype
            inexact = dtype.kind in "fc"
            if inexact and one_number:  # from the nearer end, as PyTorch: exact at 0 and 1
                near = -0.5 < weight < 0.5
                factor = dtype.type(weight if near else 1 - weight)
        if (
            inexact
            and isinstance(e, Tensor)
            and e._data.dtype is dtype
            and (one_number or type(w) is float or type(w) is int)
            and not (grad and (t._requires_grad or e._requires_grad))
            and (x.base is None or x.flags.c_contiguous or not has_internal_overlap(x))
        ):
            if not one_number:
                near = -0.5 < w < 0.5
                factor = w if near else 1 - w
            end = e._data
            tmp = np.subtract(end, x)
            tmp *= factor
            try:
                if near:
                    x += tmp
                else:
                    np.subtract(end, tmp, x)
                t._vc[0] += 1
                continue
            except ValueError:  # shapes that don't broadcast into x: the op below explains
                pass
        method(t, e, w)


# -- in-place unary ops ------------------------------------------------------------------------


def _unary_(ufunc, method, tensors):
    grad = GRAD_ENABLED[0]
    for t in tensors:
        x = _writable(t, grad)
        if x is None or x.dtype.kind != "f":
            method(t)
            continue
        ufunc(x, out=x)
        t._vc[0] += 1


@_export
def sqrt_(self):
    _unary_(np.sqrt, Tensor.sqrt_, self)
    return self


@_export
def neg_(self):
    _unary_(np.negative, Tensor.neg_, self)
    return self


@_export
def abs_(self):
    _unary_(np.absolute, Tensor.abs_, self)
    return self


@_export
def sign_(self):
    _unary_(unary.sign_array, Tensor.sign_, self)
    return self


@_export
def zero_(self):
    grad = GRAD_ENABLED[0]
    for t in self:
        x = _writable(t, grad)
        if x is None:
            t.zero_()
            continue
        x.fill(0)
        t._vc[0] += 1
    return self


# -- ops returning new tensors -----------------------------------------------------------------


def _new(result):
    """A tensor around a ufunc's result (a NumPy scalar for 0-d operands)."""
    return wrap(result if type(result) is np.ndarray else np.asarray(result))


def _unary(ufunc, method, tensors):
    grad = GRAD_ENABLED[0]
    out = []
    for t in tensors:
        x = t._data
        if x.dtype.kind != "f" or (grad and t._requires_grad):
            out.append(method(t))
        else:
            out.append(_new(ufunc(x)))
    return tuple(out)


@_export
def sqrt(self):
    return _unary(np.sqrt, Tensor.sqrt, self)


@_export
def neg(self):
    return _unary(np.negative, Tensor.neg, self)


@_export
def abs(self):
    return _unary(np.absolute, Tensor.abs, self)


@_export
def sign(self):
    return _unary(unary.sign_array, Tensor.sign, self)


def _binary(op, ufunc, method, tensors, other, alpha=1, float_only=False):
    grad = GRAD_ENABLED[0]
    kwargs = {} if alpha == 1 else {"alpha": alpha}
    out = []
    for t, o in zip(tensors, _per_tensor(op, tensors, other)):
        x = t._data
        a = _SLOW if grad and t._requires_grad else _operand(x, o, grad, float_only)
        if a is not _SLOW and kwargs:
            scale = _operand(x, alpha, grad)
            fused = None if scale is _SLOW else onednn_binary.compute(ufunc, x, a, scale=scale)
            if fused is not None:  # ufunc(x, a * scale) in one pass on oneDNN's threads
                out.append(_new(fused))
                continue
            a = _SLOW if scale is _SLOW else a * scale
        if a is not _SLOW:
            try:
                out.append(_new(ufunc(x, a)))
                continue
            except ValueError:  # shapes that don't broadcast: the op below explains
                pass
        out.append(method(t, o, **kwargs))
    return tuple(out)


@_export
def add(self, other, *, alpha=1):
    """New tensors self[i] + alpha * other[i]."""
    _check_alpha("add", other, alpha)
    return _binary("add", np.add, Tensor.add, self, other, alpha)


@_export
def sub(self, other, *, alpha=1):
    """New tensors self[i] - alpha * other[i]."""
    _check_alpha("sub", other, alpha)
    return _binary("sub", np.subtract, Tensor.sub, self, other, alpha)


@_export
def mul(self, other):
    """New tensors self[i] * other[i]."""
    return _binary("mul", np.multiply, Tensor.mul, self, other)


@_export
def div(self, other):
    """New tensors self[i] / other[i]."""
    return _binary("div", np.divide, Tensor.div, self, other, float_only=True)


@_export
def maximum(self, other):
    return _binary("maximum", np.maximum, Tensor.maximum, self, other)


@_export
def minimum(self, other):
    return _binary("minimum", np.minimum, Tensor.minimum, self, other)


def _updated_copies(op, inplace, method, self, operands, scalars):
    """New tensors: copies of ``self`` updated by the in-place op where every operand has the
    dtype of its ``self`` tensor (then so has the result); the per-tensor op, which promotes,
    elsewhere."""
    _same_length(op, self, *operands)
    if isinstance(scalars, Tensor):
        scalars = scalars.tolist()
    out = []
    for t, *args, v in zip(self, *operands, _per_tensor(op, self, scalars)):
        if all(isinstance(a, Tensor) and a.dtype == t.dtype for a in args):
            copy = t.clone()
            inplace([copy], *[[a] for a in args], v)
            out.append(copy)
        else:
            out.append(method(t, *args, v))
    return tuple(out)


@_export
def addcmul(self, tensor1, tensor2, scalars=1, *, value=None):
    """New tensors self[i] + value[i] * tensor1[i] * tensor2[i]."""
    return _updated_copies(
        "addcmul", addcmul_, lambda t, a, b, v: t.addcmul(a, b, value=v), self,
        (tensor1, tensor2), scalars if value is None else value,
    )  # fmt: skip


@_export
def addcdiv(self, tensor1, tensor2, scalars=1, *, value=None):
    """New tensors self[i] + value[i] * tensor1[i] / tensor2[i]."""
    return _updated_copies(
        "addcdiv", addcdiv_, lambda t, a, b, v: t.addcdiv(a, b, value=v), self,
        (tensor1, tensor2), scalars if value is None else value,
    )  # fmt: skip


@_export
def lerp(self, tensors1, weight):
    """New tensors self[i] + weight[i] * (tensors1[i] - self[i])."""
    return _updated_copies("lerp", lerp_, Tensor.lerp, self, (tensors1,), weight)


@_export
def norm(self, ord=2, dtype=None):
    """The vector norm of each tensor, as 0-d tensors."""
    grad = GRAD_ENABLED[0]
    out = []
    for t in self:
        x = t._data
        if ord != 2 or dtype is not None or x.dtype.kind != "f" or (grad and t._requires_grad):
            out.append(vector_norm(t, ord, dtype=dtype))
        else:
            flat = x.reshape(-1)
            out.append(wrap(np.asarray(math.sqrt(np.dot(flat, flat)), x.dtype)))
    return tuple(out)


# -- the direct path of single-tensor in-place ops ---------------------------------------------


class _NotDirect(Exception):
    """Raised in place of the per-tensor op: the direct write leaves this write to it."""


def _not_direct(*args, **kwargs):
    raise _NotDirect


def _is_operand(o):
    return isinstance(o, Tensor) or type(o) is float or type(o) is int


def _direct_binary(op, into, float_only=False, scalar=None):
    def write(t, args, kwargs):
        if len(args) != 1 or not _is_operand(args[0]) or not kwargs.keys() <= {"alpha"}:
            raise _NotDirect
        alpha = kwargs.get("alpha", 1)
        _binary_(op, into, _not_direct, [t], args[0], alpha, float_only, scalar)

    return write


def _direct_ternary(op, combine):
    def write(t, args, kwargs):
        value = kwargs.get("value", 1)
        if len(args) != 2 or not kwargs.keys() <= {"value"} or not _is_operand(value):
            raise _NotDirect
        _ternary_(op, _not_direct, combine, [t], [args[0]], [args[1]], value)

    return write


def _direct_unary(ufunc):
    def write(t, args, kwargs):
        if args or kwargs:
            raise _NotDirect
        _unary_(ufunc, _not_direct, [t])

    return write


def _direct_lerp(t, args, kwargs):
    if len(args) != 2 or kwargs or isinstance(args[1], Tensor) or not _is_operand(args[1]):
        raise _NotDirect
    _lerp_(_not_direct, [t], [args[0]], args[1])


_DIRECT = {
    arithmetic.add: _direct_binary("add_", np.add, scalar=operator.add),
    arithmetic.sub: _direct_binary("sub_", np.subtract, scalar=operator.sub),
    arithmetic.mul: _direct_binary("mul_", np.multiply, scalar=operator.mul),
    arithmetic.div: _direct_binary("div_", np.divide, True, operator.truediv),
    arithmetic.maximum: _direct_binary("maximum_", _maximum_into),
    arithmetic.minimum: _direct_binary("minimum_", _minimum_into),
    arithmetic.addcmul: _direct_ternary("addcmul_", np.multiply),
    arithmetic.addcdiv: _direct_ternary("addcdiv_", np.divide),
    arithmetic.lerp: _direct_lerp,
    unary.sqrt: _direct_unary(np.sqrt),
    unary.neg: _direct_unary(np.negative),
    unary.abs: _direct_unary(np.absolute),
    unary.sign: _direct_unary(unary.sign_array),
}


def _attempt(write):
    """``write`` as the single-tensor in-place ops call it: True when it wrote ``t``, False
    (``t`` untouched) where the op must build its result the long way."""

    def attempt(t, args, kwargs):
        try:
            write(t, args, kwargs)
        except _NotDirect:
            return False
        return True

    return attempt


register_direct_writes({fn: _attempt(write) for fn, write in _DIRECT.items()})


def scale_add_(tensors, factor, others, alpha):
    """tensors[i] = tensors[i] * factor + others[i] * alpha, the bits ``mul_`` then ``add_``
    give (SGD's momentum buffers): large float32 tensors in one pass on oneDNN's threads
    (`onednn_binary.compute`), the others by the two list ops."""
    rest, rest_others = [], []
    for t, o in zip(tensors, others):
        x = t._data
        if (
            GRAD_ENABLED[0]
            or x.__class__ is not np.ndarray
            or o._data.dtype != x.dtype
            or onednn_binary.compute(np.add, x, o._data, out=x, scale=alpha, first_scale=factor)
            is None
        ):
            rest.append(t)
            rest_others.append(o)
        else:
            t._vc[0] += 1
    if rest:
        mul_(rest, factor)
        add_(rest, rest_others, alpha=alpha)
    return tensors
