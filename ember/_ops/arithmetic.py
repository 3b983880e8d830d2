"""Arithmetic with PyTorch's type promotion: + - * / ** and their relatives, integer
division and remainders, bitwise ops, clamping and interpolation."""

import numpy as np

from ember import _dtype
from ember._ops._promotion import (
    NoGradBinary,
    broadcast_error,
    cast,
    detached,
    maybe_out,
    ones_like_t,
    operand_array,
    result_dtype,
    zeros_like_t,
)
from ember._ops.comparison import where
from ember._ops.complex import conj_of, grad_for
from ember._tensor import Tensor, wrap
from ember.autograd.function import ArrayFunction
from ember.autograd.grad_mode import GRAD_ENABLED
from ember.backends.numpy.activation_grad import cube_grad_x, plain_arrays, square_grad_x
from ember.backends.numpy.threads import MIN_ELEMENTS, elementwise, keeps_dtype
from ember.backends.onednn import binary as onednn_binary
from ember.backends.onednn import eltwise as onednn_eltwise

__all__ = [
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "pow",
    "atan2", "arctan2", "maximum", "minimum", "floor_divide", "remainder", "fmod",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift", "bitwise_right_shift",
    "bitwise_not", "clamp", "clip", "clamp_min", "clamp_max", "lerp", "addcmul", "addcdiv",
    "float_power", "hypot", "xlogy", "nan_to_num", "positive",
]  # fmt: skip


# Looked up once, as every op reads it (CPython does not cache ``np.<name>`` reads: NumPy's
# module defines ``__getattr__``).
_ndarray = np.ndarray


def _binary(ufunc, a, b, dtype):
    """``ufunc(a, b)`` computed in ``dtype`` (the operands' common dtype, PyTorch's promotion).

    Operands already in ``dtype`` and too small to split over threads (a Python float with a
    floating dtype, as NumPy keeps such a scalar weak) go to the ufunc in one plain call;
    large float32 ones to oneDNN where it takes them."""
    if a.__class__ is _ndarray and (a.dtype is dtype or a.dtype == dtype):
        if b.__class__ is _ndarray:
            if a.size + b.size < MIN_ELEMENTS and (b.dtype is dtype or b.dtype == dtype):
                return ufunc(a, b)
        elif b.__class__ is float and a.size < MIN_ELEMENTS and dtype.kind == "f":
            return ufunc(a, b)
        out = onednn_binary.compute(ufunc, a, b)
        if out is not None:
            return out
    return cast(elementwise(ufunc, operand_array(a, dtype), operand_array(b, dtype)), dtype)


class Add(ArrayFunction):
    real_inputs = (False, False)  # which operands are real inputs of a complex result

    @staticmethod
    def forward(ctx, a, b, dtype):
        if dtype.kind == "c":
            ctx.real_inputs = _real_inputs(a, b)
        return _binary(np.add, a, b, dtype)

    @staticmethod
    def backward(ctx, g):
        needs = ctx.needs_input_grad
        return (_part(g, ctx.real_inputs[0]) if needs[0] else None,
                _part(g, ctx.real_inputs[1]) if needs[1] else None, None)  # fmt: skip


class Sub(ArrayFunction):
    real_inputs = (False, False)  # which operands are real inputs of a complex result

    @staticmethod
    def forward(ctx, a, b, dtype):
        if dtype.kind == "c":
            ctx.real_inputs = _real_inputs(a, b)
        return _binary(np.subtract, a, b, dtype)

    @staticmethod
    def backward(ctx, g):
        needs = ctx.needs_input_grad
        return (_part(g, ctx.real_inputs[0]) if needs[0] else None,
                _part(-g, ctx.real_inputs[1]) if needs[1] else None, None)  # fmt: skip


def _real_inputs(a, b):
    """Which operands of a complex result are real arrays (their gradients' real parts)."""
    return tuple(isinstance(x, np.ndarray) and x.dtype.kind != "c" for x in (a, b))


def _part(g, real_input):
    return g.real if real_input else g


_PLAIN_NUMBERS = frozenset((int, float))


def _save_operands(ctx, a, b):
    """Save the operands backward reads (None: not read): arrays through
    ``save_for_backward`` (Tensors in backward, checked for in-place changes), a Python int
    or float as it is, as PyTorch keeps a scalar operand (no 0-d tensor, no promotion work)."""
    a_number = a.__class__ in _PLAIN_NUMBERS
    b_number = b.__class__ in _PLAIN_NUMBERS
    if a_number or b_number:
        ctx.numbers = (a if a_number else None, b if b_number else None)
        a = None if a_number else a
        b = None if b_number else b
    ctx.save_for_backward(a, b)


def _saved_operands(ctx):
    a, b = ctx.saved_tensors
    numbers = ctx.numbers
    return (numbers[0] if a is None else a), (numbers[1] if b is None else b)


class Mul(ArrayFunction):
    numbers = (None, None)  # the operands that are Python numbers, when backward reads them

    @staticmethod
    def forward(ctx, a, b, dtype):
        needs = ctx.needs_input_grad
        if needs[0] or needs[1]:  # keep only what the gradients read
            _save_operands(ctx, a if needs[1] else None, b if needs[0] else None)
        return _binary(np.multiply, a, b, dtype)

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_operands(ctx)  # complex: grad * conj(other), real part for a real input
        return (grad_for(g * conj_of(b), a) if ctx.needs_input_grad[0] else None,
                grad_for(g * conj_of(a), b) if ctx.needs_input_grad[1] else None, None)  # fmt: skip


class Div(ArrayFunction):
    numbers = (None, None)  # the operands that are Python numbers, when backward reads them

    @staticmethod
    def forward(ctx, a, b, dtype):
        needs = ctx.needs_input_grad
        if needs[0] or needs[1]:  # keep only what the gradients read
            _save_operands(ctx, a if needs[1] else None, b)
        return _binary(np.true_divide, a, b, dtype)

    @staticmethod
    def backward(ctx, g):
        a, b = _saved_operands(ctx)
        a_c, b_c = conj_of(a), conj_of(b)
        ga = grad_for(g / b_c, a) if ctx.needs_input_grad[0] else None
        # (a / b) / b as PyTorch computes it: b * b overflows (or underflows) first
        gb = grad_for(-g * (a_c / b_c / b_c), b) if ctx.needs_input_grad[1] else None
        return ga, gb, None


@keeps_dtype
def _cube(x, out=None):
    out = np.square(x, out=np.empty_like(x) if out is None else out)
    return np.multiply(out, x, out=out)


@keeps_dtype
def _inverse_square(x, out=None):
    out = np.square(x, out=np.empty_like(x) if out is None else out)
    return np.reciprocal(out, out=out)


@keeps_dtype
def _inverse_sqrt(x, out=None):
    out = np.sqrt(x, out=np.empty_like(x) if out is None else out)
    return np.reciprocal(out, out=out)


# Exponents PyTorch computes with multiplications, square roots and reciprocals instead of the
# general power function (np.power has no such shortcut: x ** 3 was 40x slower than x * x * x).
_FAST_POWERS = {2: np.square, 3: _cube, 0.5: np.sqrt, -0.5: _inverse_sqrt, -1: np.reciprocal,
                -2: _inverse_square}  # fmt: skip


def _small_integer_power(x, n):
    """x ** n for an integer 4 <= n <= 8, by repeated squaring (within a few ulps of pow)."""
    result, square = None, x
    while n:
        if n & 1:
            result = square.copy() if result is None else np.multiply(result, square, out=result)
        n >>= 1
        if n:
            square = np.square(square)
    return result


def _onednn_power(base, exponent):
    """``base ** exponent`` for the exponents of `_FAST_POWERS` on oneDNN's kernels (one pass
    on every core, the same bits), or None where they decline the array."""
    if exponent == 3:
        return onednn_binary.cube(base)
    if exponent == -0.5:
        return onednn_eltwise.inverse_sqrt(base)
    name = _ONEDNN_POWERS.get(exponent)
    return None if name is None else onednn_eltwise.forward(name, base)


_ONEDNN_POWERS = {2: "square", 0.5: "sqrt", -1: "reciprocal"}


def _power(a, b, dtype):
    base = operand_array(a, dtype)
    if type(b) in (int, float) and isinstance(base, np.ndarray) and base.dtype.kind == "f":
        fast = _FAST_POWERS.get(b)
        if fast is not None:
            y = _onednn_power(base, b)
            return elementwise(fast, base) if y is None else y
        if float(b).is_integer() and 4 <= b <= 8:
            return _small_integer_power(base, int(b))
    return elementwise(np.power, base, operand_array(b, dtype))


# The derivatives of x ** 2 and x ** 3 in two passes, for backwards that are not recorded.
_POWER_GRADS = {2: square_grad_x, 3: cube_grad_x}


def _fusable_power(g, a):
    return g.dtype == a.dtype and g.shape == a.shape and plain_arrays(g, a)


class Pow(ArrayFunction):
    @staticmethod
    def forward(ctx, a, b, dtype):
        out = cast(_power(a, b, dtype), dtype)
        ctx.save_for_backward(a, b, out)
        ctx.exponent = b if type(b) in (int, float) else None  # saved, b becomes a tensor
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        ga = gb = None
        if out._data.dtype.kind == "c":  # holomorphic: grad * conj(derivative)
            if ctx.needs_input_grad[0]:
                ga = grad_for(g * conj_of(b * a ** (b - 1)), a)
                ga = where(b == 0, zeros_like_t(ga), ga) if isinstance(b, Tensor) else ga
            if ctx.needs_input_grad[1]:
                log_a = where(a != 0, a, ones_like_t(a)).log() if isinstance(a, Tensor) else (
                    np.log(a) if a != 0 else 0)  # fmt: skip
                gb = grad_for(g * conj_of(out * log_a), b)
            return ga, gb, None
        if ctx.needs_input_grad[0]:
            exponent = ctx.exponent
            fused = _POWER_GRADS.get(exponent)
            if fused is not None and not GRAD_ENABLED[0] and _fusable_power(g._data, a._data):
                ga = wrap(elementwise(fused, g._data, a._data))
            elif exponent is None:
                ga = g * b * a ** (b - 1)
                ga = where(b == 0, zeros_like_t(ga), ga)
            else:
                ga = g * exponent * a ** (exponent - 1) if exponent != 0 else zeros_like_t(g)
        if ctx.needs_input_grad[1]:
            gb = g * out * where(a > 0, a, ones_like_t(a)).log()
        return ga, gb, None


def _to_tensor(x, dtype):
    return x if isinstance(x, Tensor) else wrap(np.asarray(x, dtype=dtype))


class Atan2(ArrayFunction):
    @staticmethod
    def forward(ctx, a, b, dtype):
        ctx.save_for_backward(a, b)
        return cast(np.arctan2(operand_array(a, dtype), operand_array(b, dtype)), dtype)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        d = a * a + b * b
        return g * b / d, -g * a / d, None


class Maximum(ArrayFunction):
    @staticmethod
    def forward(ctx, a, b, dtype):
        reject_complex_extremum("maximum", dtype)
        ctx.save_for_backward(a, b)  # for the version check: backward reads the masks
        a, b = operand_array(a, dtype), operand_array(b, dtype)
        if any(ctx.needs_input_grad[:2]):  # backward reads the masks
            ctx.mask = np.asarray(elementwise(np.greater, a, b))
            ctx.tie = np.asarray(elementwise(np.equal, a, b))
        return cast(elementwise(np.maximum, a, b), dtype)

    @staticmethod
    def backward(ctx, g):
        _ = ctx.saved_tensors  # raises if an input was modified in place since forward
        w = np.where(ctx.tie, 0.5, ctx.mask.astype(np.float64)).astype(g._data.dtype)
        return g * wrap(w), g * wrap(1 - w), None


class Minimum(ArrayFunction):
    @staticmethod
    def forward(ctx, a, b, dtype):
        reject_complex_extremum("minimum", dtype)
        ctx.save_for_backward(a, b)  # for the version check: backward reads the masks
        a, b = operand_array(a, dtype), operand_array(b, dtype)
        if any(ctx.needs_input_grad[:2]):  # backward reads the masks
            ctx.mask = np.asarray(elementwise(np.less, a, b))
            ctx.tie = np.asarray(elementwise(np.equal, a, b))
        return cast(elementwise(np.minimum, a, b), dtype)

    @staticmethod
    def backward(ctx, g):
        _ = ctx.saved_tensors  # raises if an input was modified in place since forward
        w = np.where(ctx.tie, 0.5, ctx.mask.astype(np.float64)).astype(g._data.dtype)
        return g * wrap(w), g * wrap(1 - w), None


def reject_complex_extremum(name, dtype):
    if np.dtype(dtype).kind == "c":
        raise RuntimeError(f"{name} not implemented for complex tensors.")


def _applied(cls, op, a, b, dtype, out):
    """``cls.apply(a, b, dtype)``, written into ``out`` when one is given."""
    try:
        r = cls.apply_binary(a, b, dtype)
    except ValueError as e:
        raise _failure(e, op, a, b) from None
    return r if out is None else maybe_out(r, out)


def _failure(error, op, a, b):
    """The error to raise for a ValueError from an op: PyTorch's, naming both shapes, when the
    operands do not broadcast; the ValueError itself otherwise."""
    return broadcast_error(op, a, b) if "broadcast" in str(error) else error


def _binary_fn(cls, name, op_label=None):
    label = op_label or name

    def fn(input, other, *, out=None):
        if not isinstance(input, Tensor) and not isinstance(other, Tensor):
            input = wrap(np.asarray(input))
        dtype = result_dtype(input, other)
        try:  # (``_applied``, inlined: this serves the ``*`` operator)
            r = cls.apply_binary(input, other, dtype)
        except ValueError as e:
            raise _failure(e, label, input, other) from None
        return r if out is None else maybe_out(r, out)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name} with broadcasting and PyTorch's type promotion."
    return fn


def add(input, other, *, alpha=1, out=None):
    """input + alpha * other with broadcasting and PyTorch's type promotion."""
    if alpha != 1:
        other = mul(other, alpha) if isinstance(other, Tensor) else other * alpha
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = wrap(np.asarray(input))
    dtype = result_dtype(input, other)
    try:  # (``_applied``, inlined: this serves the ``+`` operator)
        r = Add.apply_binary(input, other, dtype)
    except ValueError as e:
        raise _failure(e, "add", input, other) from None
    return r if out is None else maybe_out(r, out)


def sub(input, other, *, alpha=1, out=None):
    """input - alpha * other."""
    if isinstance(input, Tensor) and input._data.dtype.kind == "b":
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )
    if alpha != 1:
        other = mul(other, alpha) if isinstance(other, Tensor) else other * alpha
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = wrap(np.asarray(input))
    dtype = result_dtype(input, other)
    try:  # (``_applied``, inlined: this serves the ``-`` operator)
        r = Sub.apply_binary(input, other, dtype)
    except ValueError as e:
        raise _failure(e, "sub", input, other) from None
    return r if out is None else maybe_out(r, out)


mul = _binary_fn(Mul, "mul")
maximum = _binary_fn(Maximum, "maximum")
minimum = _binary_fn(Minimum, "minimum")


def div(input, other, *, rounding_mode=None, out=None):
    """input / other; integer inputs give the default float dtype unless rounding is asked."""
    if rounding_mode is not None:
        r = floor_divide(input, other) if rounding_mode == "floor" else _trunc_div(input, other)
        return maybe_out(r, out)
    return _floating_result(Div, "div", input, other, out)


def atan2(input, other, *, out=None):
    """The angle of (other, input) elementwise; integer and bool inputs give the default float
    dtype, as PyTorch's."""
    return _floating_result(Atan2, "atan2", input, other, out)


def _floating_result(cls, label, input, other, out):
    """``cls`` applied in the operands' common dtype, or the default float dtype where that is
    integral or bool (true division, atan2)."""
    dt = result_dtype(input, other)
    if dt.kind in "iub":
        dt = _dtype.get_default_dtype().np
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = wrap(np.asarray(input))
    return _applied(cls, label, input, other, dt, out)


_OPERANDS = (Tensor, int, float, complex, np.number)


def _operator(cls, label, fn):
    """``self <op> other`` for a Tensor operator: ``fn(self, other)``, NotImplemented for an
    operand ember does not combine with. The most common case, a floating-point tensor with a
    tensor of the same dtype or with a Python float, goes straight to ``cls``: what ``fn``
    does there, without its argument handling."""
    apply_binary = cls.apply_binary  # bound once: it serves every call of the operator

    def op(self, other):
        dtype = self._data.dtype
        if dtype.kind == "f" and (
            other.__class__ is float or (isinstance(other, Tensor) and other._data.dtype is dtype)
        ):
            try:
                return apply_binary(self, other, dtype)
            except ValueError as e:
                raise _failure(e, label, self, other) from None
        if isinstance(other, _OPERANDS):
            return fn(self, other)
        if isinstance(other, np.ndarray):
            return fn(self, wrap(other))
        return NotImplemented

    op.__name__ = op.__qualname__ = f"__{label}__"
    return op


def _trunc_div(a, b):
    dt = result_dtype(a, b)
    _check_integer_divisor("div_trunc", a if isinstance(a, Tensor) else wrap(np.asarray(a)), b, dt)
    q = div(a, b)
    r = q.trunc()
    return r if dt.kind == "f" else r.to(_dtype.from_np(dt))


def pow(input, exponent, *, out=None):
    """input ** exponent."""
    if not isinstance(input, Tensor):
        input = wrap(np.asarray(input, dtype=result_dtype(input, exponent)))
    dt = result_dtype(input, exponent)
    if dt.kind in "iu" and not isinstance(exponent, Tensor) and exponent < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    return _applied(Pow, "pow", input, exponent, dt, out)


class _Remainder(ArrayFunction):
    """a - b * rounding(a / b): the gradient is g for a and -g * rounding(a / b) for b."""

    np_fn = rounding = None

    @classmethod
    def forward(cls, ctx, a, b, dtype):
        ctx.save_for_backward(a, b)  # for the version check: backward reads the quotient
        a, b = operand_array(a, dtype), operand_array(b, dtype)
        if ctx.needs_input_grad[1]:
            ctx.quot = cls.rounding(np.true_divide(a, b))
        return cls.np_fn(a, b)

    @staticmethod
    def backward(ctx, g):
        _ = ctx.saved_tensors  # raises if an input was modified in place since forward
        gb = -g * wrap(ctx.quot.astype(g._data.dtype)) if ctx.needs_input_grad[1] else None
        return g, gb, None


def _check_integer_divisor(op, input, other, dt):
    """Integer division or remainder by zero raises, as in PyTorch (NumPy would give 0).

    The divisor is scanned only for integer results; an empty result divides nothing."""
    if dt.kind == "b":
        raise NotImplementedError(f"\"{op}_cpu\" not implemented for 'Bool'")
    if dt.kind not in "iu":
        return
    d = other._data if isinstance(other, Tensor) else other
    if (isinstance(other, Tensor) and other.is_meta) or np.all(d) or not input._data.size:
        return  # (a meta divisor has no values to check)
    if isinstance(other, Tensor) and 0 in np.broadcast_shapes(input._data.shape, d.shape):
        return
    raise RuntimeError(
        f"ZeroDivisionError: {op} of an integer tensor ({_dtype.from_np(dt).name}) by zero"
    )


def _int_binary(name, np_fn, *, allow_float=True, rounding=None):
    base = NoGradBinary if rounding is None else _Remainder
    attrs = {"np_fn": staticmethod(np_fn), "rounding": staticmethod(rounding)}
    cls = type(name.title().replace("_", ""), (base,), attrs)
    divides = name in ("floor_divide", "remainder", "fmod")

    def fn(input, other, *, out=None):
        if not isinstance(input, Tensor):
            input = wrap(np.asarray(input))
        dt = result_dtype(input, other)
        if not allow_float and dt.kind == "f":
            raise NotImplementedError(
                f"\"{name}_cpu\" not implemented for '{_dtype.from_np(dt).name}'"
            )
        if divides:
            _check_integer_divisor(name, input, other, dt)
        if rounding is None:
            input, other = input.detach(), detached(other)
        return _applied(cls, name, input, other, dt, out)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name}."
    return fn


floor_divide = _int_binary("floor_divide", np.floor_divide)
remainder = _int_binary("remainder", np.mod, rounding=np.floor)
fmod = _int_binary("fmod", np.fmod, rounding=np.trunc)
bitwise_and = _int_binary("bitwise_and", np.bitwise_and, allow_float=False)
bitwise_or = _int_binary("bitwise_or", np.bitwise_or, allow_float=False)
bitwise_xor = _int_binary("bitwise_xor", np.bitwise_xor, allow_float=False)
bitwise_left_shift = _int_binary("bitwise_left_shift", np.left_shift, allow_float=False)
bitwise_right_shift = _int_binary("bitwise_right_shift", np.right_shift, allow_float=False)


subtract, multiply, divide, true_divide, arctan2 = sub, mul, div, div, atan2

# The operators + - * / of Tensor (their reflected forms call the functions).
add_operator = _operator(Add, "add", add)
sub_operator = _operator(Sub, "sub", sub)
mul_operator = _operator(Mul, "mul", mul)
div_operator = _operator(Div, "div", div)


class Clamp(ArrayFunction):
    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x, lo, hi)  # for the version check: backward reads the masks
        lo_a = lo if not isinstance(lo, np.ndarray) else lo.astype(x.dtype, copy=False)
        hi_a = hi if not isinstance(hi, np.ndarray) else hi.astype(x.dtype, copy=False)
        out = x
        if lo_a is not None:
            out = elementwise(np.maximum, out, lo_a)
        if hi_a is not None:
            out = elementwise(np.minimum, out, hi_a)
        out = np.asarray(out, dtype=x.dtype)
        if any(ctx.needs_input_grad):  # the masks backward reads
            keep = np.ones(out.shape, dtype=bool)
            if lo_a is not None:
                keep &= np.broadcast_to(x >= lo_a, out.shape)
            if hi_a is not None:
                keep &= np.broadcast_to(x <= hi_a, out.shape)
            ctx.keep = keep
            # min(max(x, lo), hi): where lo > hi the result (and the gradient) is hi's.
            low = x if lo_a is None else np.maximum(x, lo_a)
            ctx.lo_mask = None if lo_a is None or not isinstance(lo, np.ndarray) else (
                (x < lo_a) & (True if hi_a is None else lo_a <= hi_a))  # fmt: skip
            ctx.hi_mask = None if hi_a is None or not isinstance(hi, np.ndarray) else low > hi_a
        return out if out is not x else out.copy()

    @staticmethod
    def backward(ctx, g):
        _ = ctx.saved_tensors  # raises if an input was modified in place since forward
        dt = g._data.dtype
        gx = g * wrap(ctx.keep.astype(dt))
        glo = g * wrap(ctx.lo_mask.astype(dt)) if ctx.lo_mask is not None else None
        ghi = g * wrap(ctx.hi_mask.astype(dt)) if ctx.hi_mask is not None else None
        return gx, glo, ghi


def clamp(input, min=None, max=None, *, out=None):
    """Limit values to [min, max]; either bound may be a number or a tensor."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if input._data.dtype.kind == "c":
        raise NotImplementedError("clamp is not supported for complex types")
    dt = _dtype.result_type(input, *(b for b in (min, max) if b is not None)).np
    x = input if input._data.dtype == dt else input.to(_dtype.from_np(dt))
    return maybe_out(Clamp.apply(x, min, max), out)


def clamp_min(input, min):
    return clamp(input, min=min)


def clamp_max(input, max):
    return clamp(input, max=max)


clip = clamp


def lerp(input, end, weight):
    """input + weight * (end - input)."""
    return input + weight * (end - input)


def addcmul(input, tensor1, tensor2, *, value=1):
    return input + value * tensor1 * tensor2


def addcdiv(input, tensor1, tensor2, *, value=1):
    return input + value * tensor1 / tensor2


def float_power(input, exponent):
    a = input.double() if isinstance(input, Tensor) else input
    b = exponent.double() if isinstance(exponent, Tensor) else exponent
    if not isinstance(a, Tensor):
        a = wrap(np.asarray(a, dtype=np.float64))
    return pow(a, b)


def hypot(input, other):
    return (input * input + other * other).sqrt()


def xlogy(input, other):
    out = input * _to_tensor(other, np.float32).log()
    return where(input == 0, zeros_like_t(out), out)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """Replace NaN and infinities by finite numbers; the gradient passes where finite."""
    d = input._data
    finite = np.isfinite(d)
    repl = np.nan_to_num(d, nan=nan, posinf=posinf, neginf=neginf)
    return where(wrap(finite), input, wrap(repl.astype(d.dtype, copy=False)))


def bitwise_not(input):
    if input.is_floating_point():
        raise NotImplementedError(f"\"bitwise_not_cpu\" not implemented for '{input.dtype.name}'")
    return wrap(np.invert(input._data))


def positive(input):
    return input
