"""Elementwise ops: arithmetic with PyTorch's type promotion, math functions, comparisons."""

import math

import numpy as np

from ember import _dtype
from ember._ops._util import float_np
from ember._tensor import Tensor, wrap
from ember.autograd.function import ArrayFunction
from ember.autograd.grad_mode import GRAD_ENABLED

__all__ = []  # filled by the registration helpers below


def _export(fn, *method_names):
    __all__.append(fn.__name__)
    for name in method_names:
        setattr(Tensor, name, fn)
    return fn


def _cast(arr, dtype):
    return arr if arr.dtype == dtype else arr.astype(dtype)


def _result(a, b):
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


def _operand(x, dtype):
    """A Tensor's array or a number, cast to the computation dtype."""
    if isinstance(x, Tensor):
        return x._data if x._data.dtype == dtype else x._data.astype(dtype)
    if isinstance(x, np.ndarray):
        return x.astype(dtype, copy=False)
    return x


def _broadcast_error(op, a, b):
    sa = list(a.shape) if hasattr(a, "shape") else []
    sb = list(b.shape) if hasattr(b, "shape") else []
    return RuntimeError(
        f"{op}: The size of tensor a ({sa}) must match the size of tensor b ({sb}) at "
        "non-singleton dimension (shapes cannot be broadcast together)"
    )


def _apply_binary(cls, op, a, b, dtype):
    try:
        return cls.apply(a, b, dtype)
    except ValueError as e:
        if "broadcast" in str(e):
            raise _broadcast_error(op, a, b) from None
        raise


# -- arithmetic ------------------------------------------------------------------------------


class Add(ArrayFunction):
    @staticmethod
    def forward(ctx, a, b, dtype):
        return _cast(np.add(_operand_arr(a, dtype), _operand_arr(b, dtype)), dtype)

    @staticmethod
    def backward(ctx, g):
        return g, g, None


class Sub(ArrayFunction):
    @staticmethod
    def forward(ctx, a, b, dtype):
        return _cast(np.subtract(_operand_arr(a, dtype), _operand_arr(b, dtype)), dtype)

    @staticmethod
    def backward(ctx, g):
        return g, -g, None


class Mul(ArrayFunction):
    @staticmethod
    def forward(ctx, a, b, dtype):
        need_a, need_b = ctx.needs_input_grad[:2]  # keep only what the gradients read
        ctx.save_for_backward(a if need_b else None, b if need_a else None)
        return _cast(np.multiply(_operand_arr(a, dtype), _operand_arr(b, dtype)), dtype)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return (g * b if ctx.needs_input_grad[0] else None,
                g * a if ctx.needs_input_grad[1] else None, None)  # fmt: skip


class Div(ArrayFunction):
    @staticmethod
    def forward(ctx, a, b, dtype):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)  # only what is read
        return _cast(np.true_divide(_operand_arr(a, dtype), _operand_arr(b, dtype)), dtype)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        ga = g / b if ctx.needs_input_grad[0] else None
        gb = -g * a / (b * b) if ctx.needs_input_grad[1] else None
        return ga, gb, None


def _cube(x):
    out = np.square(x)
    out *= x
    return out


def _inverse_square(x):
    out = np.square(x)
    return np.reciprocal(out, out=out)


def _inverse_sqrt(x):
    out = np.sqrt(x)
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


def _power(a, b, dtype):
    base = _operand_arr(a, dtype)
    if type(b) in (int, float) and isinstance(base, np.ndarray) and base.dtype.kind == "f":
        fast = _FAST_POWERS.get(b)
        if fast is not None:
            return fast(base)
        if float(b).is_integer() and 4 <= b <= 8:
            return _small_integer_power(base, int(b))
    return np.power(base, _operand_arr(b, dtype))


class Pow(ArrayFunction):
    @staticmethod
    def forward(ctx, a, b, dtype):
        out = _cast(_power(a, b, dtype), dtype)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = g * b * a ** (b - 1)
            ga = where(b == 0, zeros_like_t(ga), ga) if isinstance(b, Tensor) else ga
        if ctx.needs_input_grad[1]:
            gb = g * out * where(a > 0, a, ones_like_t(a)).log()
        return ga, gb, None


def _operand_arr(x, dtype):
    if isinstance(x, np.ndarray):
        return x if x.dtype == dtype else x.astype(dtype)
    if type(x) is int and dtype.kind in "iu":
        return np.array(x).astype(dtype)  # an out-of-range int wraps around, as in PyTorch
    return x


def zeros_like_t(t):
    return wrap(np.zeros_like(t._data))


def ones_like_t(t):
    return wrap(np.ones_like(t._data))


def _to_tensor(x, dtype):
    return x if isinstance(x, Tensor) else wrap(np.asarray(x, dtype=dtype))


class Atan2(ArrayFunction):
    @staticmethod
    def forward(ctx, a, b, dtype):
        ctx.save_for_backward(a, b)
        return _cast(np.arctan2(_operand_arr(a, dtype), _operand_arr(b, dtype)), dtype)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        d = a * a + b * b
        return g * b / d, -g * a / d, None


class Maximum(ArrayFunction):
    @staticmethod
    def forward(ctx, a, b, dtype):
        ctx.save_for_backward(a, b)  # for the version check: backward reads the masks
        a, b = _operand_arr(a, dtype), _operand_arr(b, dtype)
        ctx.mask = np.asarray(a > b)
        ctx.tie = np.asarray(a == b)
        return _cast(np.maximum(a, b), dtype)

    @staticmethod
    def backward(ctx, g):
        _ = ctx.saved_tensors  # raises if an input was modified in place since forward
        w = np.where(ctx.tie, 0.5, ctx.mask.astype(np.float64)).astype(g._data.dtype)
        return g * wrap(w), g * wrap(1 - w), None


class Minimum(ArrayFunction):
    @staticmethod
    def forward(ctx, a, b, dtype):
        ctx.save_for_backward(a, b)  # for the version check: backward reads the masks
        a, b = _operand_arr(a, dtype), _operand_arr(b, dtype)
        ctx.mask = np.asarray(a < b)
        ctx.tie = np.asarray(a == b)
        return _cast(np.minimum(a, b), dtype)

    @staticmethod
    def backward(ctx, g):
        _ = ctx.saved_tensors  # raises if an input was modified in place since forward
        w = np.where(ctx.tie, 0.5, ctx.mask.astype(np.float64)).astype(g._data.dtype)
        return g * wrap(w), g * wrap(1 - w), None


def _binary_fn(cls, name, op_label=None):
    label = op_label or name

    def fn(input, other, *, out=None):
        if not isinstance(input, Tensor) and not isinstance(other, Tensor):
            input = wrap(np.asarray(input))
        r = _apply_binary(cls, label, input, other, _result(input, other))
        return _maybe_out(r, out)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name} with broadcasting and PyTorch's type promotion."
    return fn


def _maybe_out(result, out):
    """Write ``result`` into a user-given ``out`` tensor (resized as PyTorch does)."""
    if out is None:
        return result
    if out._data.shape != result._data.shape:
        out._data = np.empty(result._data.shape, out._data.dtype)
    np.copyto(out._data, result._data, casting="unsafe")
    out._bump_version()
    return out


def add(input, other, *, alpha=1, out=None):
    """input + alpha * other with broadcasting and PyTorch's type promotion."""
    if alpha != 1:
        other = mul(other, alpha) if isinstance(other, Tensor) else other * alpha
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = wrap(np.asarray(input))
    return _maybe_out(_apply_binary(Add, "add", input, other, _result(input, other)), out)


def sub(input, other, *, alpha=1, out=None):
    """input - alpha * other."""
    if isinstance(input, Tensor) and input.dtype is _dtype.bool:
        raise RuntimeError(
            "Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
            "trying to invert a mask, use the `~` or `logical_not()` operator instead."
        )
    if alpha != 1:
        other = mul(other, alpha) if isinstance(other, Tensor) else other * alpha
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = wrap(np.asarray(input))
    return _maybe_out(_apply_binary(Sub, "sub", input, other, _result(input, other)), out)


mul = _binary_fn(Mul, "mul")
atan2 = _binary_fn(Atan2, "atan2")
maximum = _binary_fn(Maximum, "maximum")
minimum = _binary_fn(Minimum, "minimum")


def div(input, other, *, rounding_mode=None, out=None):
    """input / other; integer inputs give the default float dtype unless rounding is asked."""
    if rounding_mode is not None:
        r = floor_divide(input, other) if rounding_mode == "floor" else _trunc_div(input, other)
        return _maybe_out(r, out)
    dt = _result(input, other)
    if dt.kind in "iub":
        dt = _dtype.get_default_dtype().np
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = wrap(np.asarray(input))
    return _maybe_out(_apply_binary(Div, "div", input, other, dt), out)


def _trunc_div(a, b):
    dt = _result(a, b)
    _check_integer_divisor("div_trunc", a if isinstance(a, Tensor) else wrap(np.asarray(a)), b, dt)
    q = div(a, b)
    r = q.trunc()
    return r if dt.kind == "f" else r.to(_dtype.from_np(dt))


def pow(input, exponent, *, out=None):
    """input ** exponent."""
    if not isinstance(input, Tensor):
        input = wrap(np.asarray(input, dtype=_result(input, exponent)))
    dt = _result(input, exponent)
    if dt.kind in "iu" and not isinstance(exponent, Tensor) and exponent < 0:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    return _maybe_out(_apply_binary(Pow, "pow", input, exponent, dt), out)


class _NoGradBinary(ArrayFunction):
    """Binary ops without gradient (comparisons, integer arithmetic): forward only."""

    np_fn = None

    @classmethod
    def forward(cls, ctx, a, b, dtype):
        return cls.np_fn(_operand_arr(a, dtype), _operand_arr(b, dtype))

    @staticmethod
    def backward(ctx, g):
        return None, None, None


def _compare(name, np_fn, *aliases):
    cls = type(name.capitalize(), (_NoGradBinary,), {"np_fn": staticmethod(np_fn)})

    def fn(input, other, *, out=None):
        if other is None:
            return False if name == "eq" else True
        if not isinstance(input, Tensor):
            input = wrap(np.asarray(input))
        dt = _result(input, other)
        r = _apply_binary(cls, name, input.detach(), _detached(other), dt)
        return _maybe_out(r, out)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise comparison '{name}', giving a bool tensor."
    _export(fn, name, *aliases)
    return fn


def _detached(x):
    return x.detach() if isinstance(x, Tensor) else x


eq = _compare("eq", np.equal)
ne = _compare("ne", np.not_equal, "not_equal")
lt = _compare("lt", np.less, "less")
le = _compare("le", np.less_equal, "less_equal")
gt = _compare("gt", np.greater, "greater")
ge = _compare("ge", np.greater_equal, "greater_equal")
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
__all__ += ["greater", "greater_equal", "less", "less_equal", "not_equal"]


class _Remainder(ArrayFunction):
    """a - b * rounding(a / b): the gradient is g for a and -g * rounding(a / b) for b."""

    np_fn = rounding = None

    @classmethod
    def forward(cls, ctx, a, b, dtype):
        ctx.save_for_backward(a, b)  # for the version check: backward reads the quotient
        a, b = _operand_arr(a, dtype), _operand_arr(b, dtype)
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
    if np.all(d) or not input._data.size:
        return
    if isinstance(other, Tensor) and 0 in np.broadcast_shapes(input._data.shape, d.shape):
        return
    raise RuntimeError(
        f"ZeroDivisionError: {op} of an integer tensor ({_dtype.from_np(dt).name}) by zero"
    )


def _int_binary(name, np_fn, *, allow_float=True, rounding=None):
    base = _NoGradBinary if rounding is None else _Remainder
    attrs = {"np_fn": staticmethod(np_fn), "rounding": staticmethod(rounding)}
    cls = type(name.title().replace("_", ""), (base,), attrs)
    divides = name in ("floor_divide", "remainder", "fmod")

    def fn(input, other, *, out=None):
        if not isinstance(input, Tensor):
            input = wrap(np.asarray(input))
        dt = _result(input, other)
        if not allow_float and dt.kind == "f":
            raise NotImplementedError(
                f"\"{name}_cpu\" not implemented for '{_dtype.from_np(dt).name}'"
            )
        if divides:
            _check_integer_divisor(name, input, other, dt)
        if rounding is None:
            input, other = input.detach(), _detached(other)
        return _maybe_out(_apply_binary(cls, name, input, other, dt), out)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name}."
    _export(fn, name)
    return fn


floor_divide = _int_binary("floor_divide", np.floor_divide)
remainder = _int_binary("remainder", np.mod, rounding=np.floor)
fmod = _int_binary("fmod", np.fmod, rounding=np.trunc)
bitwise_and = _int_binary("bitwise_and", np.bitwise_and, allow_float=False)
bitwise_or = _int_binary("bitwise_or", np.bitwise_or, allow_float=False)
bitwise_xor = _int_binary("bitwise_xor", np.bitwise_xor, allow_float=False)
bitwise_left_shift = _int_binary("bitwise_left_shift", np.left_shift, allow_float=False)
bitwise_right_shift = _int_binary("bitwise_right_shift", np.right_shift, allow_float=False)


def _logical(name, np_fn):
    def fn(input, other, *, out=None):
        a = input._data if isinstance(input, Tensor) else np.asarray(input)
        b = other._data if isinstance(other, Tensor) else np.asarray(other)
        try:
            return _maybe_out(wrap(np.asarray(np_fn(a, b))), out)
        except ValueError:
            raise _broadcast_error(name, a, b) from None

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name}, giving a bool tensor."
    _export(fn, name)
    return fn


logical_and = _logical("logical_and", np.logical_and)
logical_or = _logical("logical_or", np.logical_or)
logical_xor = _logical("logical_xor", np.logical_xor)

for _f, _names in (
    (add, ("add",)), (sub, ("sub", "subtract")), (mul, ("mul", "multiply")),
    (div, ("div", "divide", "true_divide")), (pow, ("pow",)), (atan2, ("atan2", "arctan2")),
    (maximum, ("maximum",)), (minimum, ("minimum",)),
):  # fmt: skip
    _export(_f, *_names)
subtract, multiply, divide, true_divide, arctan2 = sub, mul, div, div, atan2
__all__ += ["subtract", "multiply", "divide", "true_divide", "arctan2"]


# -- unary math ------------------------------------------------------------------------------


def _unary(name, np_fn, grad, *, float_only=True, save=True, aliases=()):
    """Define an op ``name`` = ``np_fn`` with derivative ``grad(x, y, g)`` in ember ops."""

    def forward(ctx, x):
        if float_only:
            x = float_np(x)
        y = np_fn(x)
        if save:
            ctx.save_for_backward(x, y)
        return y

    def backward(ctx, g):
        x, y = ctx.saved_tensors if save else (None, None)
        return grad(x, y, g)

    cls = type(name.title().replace("_", ""), (ArrayFunction,), {
        "forward": staticmethod(forward), "backward": staticmethod(backward)})  # fmt: skip

    def fn(input, *, out=None):
        return _maybe_out(cls.apply(input), out)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name}."
    globals()[name] = fn
    _export(fn, name, *aliases)
    for a in aliases:
        globals()[a] = fn
        __all__.append(a)

    def inplace(self):
        return _inplace(self, fn)

    inplace.__name__ = name + "_"
    setattr(Tensor, name + "_", inplace)
    globals()[name + "_"] = inplace
    __all__.append(name + "_")
    return fn


def _sign(x):
    return wrap(np.sign(x._data))


_unary("neg", np.negative, lambda x, y, g: -g, float_only=False, save=False,
       aliases=("negative",))  # fmt: skip
_unary("abs", np.abs, lambda x, y, g: g * _sign(x), float_only=False, aliases=("absolute",))
_unary("exp", np.exp, lambda x, y, g: g * y)
_unary("exp2", np.exp2, lambda x, y, g: g * y * math.log(2))
_unary("expm1", np.expm1, lambda x, y, g: g * (y + 1))
_unary("log", np.log, lambda x, y, g: g / x)
_unary("log2", np.log2, lambda x, y, g: g / (x * math.log(2)))
_unary("log10", np.log10, lambda x, y, g: g / (x * math.log(10)))
_unary("log1p", np.log1p, lambda x, y, g: g / (x + 1))
_unary("sqrt", np.sqrt, lambda x, y, g: g / (2 * y))
_unary("rsqrt", lambda x: 1 / np.sqrt(x), lambda x, y, g: -0.5 * g * y * y * y)
_unary("square", np.square, lambda x, y, g: 2 * g * x, float_only=False)
_unary("reciprocal", np.reciprocal, lambda x, y, g: -g * y * y)
_unary("sin", np.sin, lambda x, y, g: g * x.cos())
_unary("cos", np.cos, lambda x, y, g: -g * x.sin())
_unary("tan", np.tan, lambda x, y, g: g * (1 + y * y))
_unary("asin", np.arcsin, lambda x, y, g: g * (1 - x * x).rsqrt(), aliases=("arcsin",))
_unary("acos", np.arccos, lambda x, y, g: -g * (1 - x * x).rsqrt(), aliases=("arccos",))
_unary("atan", np.arctan, lambda x, y, g: g / (1 + x * x), aliases=("arctan",))
_unary("sinh", np.sinh, lambda x, y, g: g * x.cosh())
_unary("cosh", np.cosh, lambda x, y, g: g * x.sinh())
_unary("tanh", np.tanh, lambda x, y, g: g * (1 - y * y))
_unary("asinh", np.arcsinh, lambda x, y, g: g * (x * x + 1).rsqrt(), aliases=("arcsinh",))
_unary("acosh", np.arccosh, lambda x, y, g: g * (x * x - 1).rsqrt(), aliases=("arccosh",))
_unary("atanh", np.arctanh, lambda x, y, g: g / (1 - x * x), aliases=("arctanh",))


def _np_sigmoid(x):
    # exp of a non-positive number only: no overflow for large |x|.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


_unary("sigmoid", _np_sigmoid, lambda x, y, g: g * y * (1 - y))
_logit_unclamped = _unary("logit", lambda x: np.log(x / (1 - x)), lambda x, y, g: g / (x * (1 - x)))


def logit(input, eps=None, *, out=None):
    """log(p / (1 - p)); with ``eps``, p is first clamped to [eps, 1 - eps]."""
    if eps is not None:
        input = clamp(input, eps, 1 - eps)
    return _logit_unclamped(input, out=out)


def logit_(self, eps=None):
    return _inplace(self, logit, eps)


Tensor.logit = logit
Tensor.logit_ = logit_


def _erf(x):
    from ember._ops._special import erf

    return erf(x)


def _erfinv(x):
    from ember._ops._special import erfinv

    return erfinv(x)


_SQRT_PI = math.sqrt(math.pi)
_unary("erf", _erf, lambda x, y, g: g * (2 / _SQRT_PI) * (-x * x).exp())
_unary("erfc", lambda x: 1 - _erf(x), lambda x, y, g: -g * (2 / _SQRT_PI) * (-x * x).exp())
_unary("erfinv", _erfinv, lambda x, y, g: g * (_SQRT_PI / 2) * (y * y).exp())


def _zero_grad(x, y, g):
    return g * 0


def sign_array(x, out=None):
    """-1, 0 or 1; NaN gives 0, as in PyTorch (NumPy's sign keeps NaN)."""
    r = np.sign(x, out=out)
    if r.dtype.kind != "f":
        return r
    if not isinstance(r, np.ndarray):  # NumPy gives a scalar for 0-d input without out=
        return r.dtype.type(0) if np.isnan(r) else r
    np.copyto(r, 0, where=np.isnan(r))
    return r


for _name, _np in (("floor", np.floor), ("ceil", np.ceil), ("trunc", np.trunc),
                   ("sign", sign_array)):  # fmt: skip
    _unary(_name, _np, _zero_grad, float_only=False, save=False)
Tensor.fix = Tensor.trunc
_unary("frac", lambda x: x - np.trunc(x), lambda x, y, g: g, save=False)
_unary("sgn", sign_array, _zero_grad, float_only=False, save=False)


def round(input, *, decimals=0, out=None):
    """Round half to even, as PyTorch does."""
    if decimals == 0:
        return _maybe_out(_Round.apply(input), out)
    scale = 10.0**decimals
    return _maybe_out(_Round.apply(input * scale) / scale, out)


class _Round(ArrayFunction):
    @staticmethod
    def forward(ctx, x):
        return np.round(x)

    @staticmethod
    def backward(ctx, g):
        return g * 0


_export(round, "round")
Tensor.round_ = lambda self, decimals=0: _inplace(self, lambda t: round(t, decimals=decimals))


def positive(input):
    return input


_export(positive, "positive")


class Clamp(ArrayFunction):
    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x, lo, hi)  # for the version check: backward reads the masks
        lo_a = lo if not isinstance(lo, np.ndarray) else lo.astype(x.dtype, copy=False)
        hi_a = hi if not isinstance(hi, np.ndarray) else hi.astype(x.dtype, copy=False)
        out = x
        if lo_a is not None:
            out = np.maximum(out, lo_a)
        if hi_a is not None:
            out = np.minimum(out, hi_a)
        out = np.asarray(out, dtype=x.dtype)
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
    dt = _dtype.result_type(input, *(b for b in (min, max) if b is not None)).np
    x = input if input._data.dtype == dt else input.to(_dtype.from_np(dt))
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return _maybe_out(Clamp.apply(x, min, max), out)
    return _maybe_out(Clamp.apply(x, min, max), out)


def clamp_min(input, min):
    return clamp(input, min=min)


def clamp_max(input, max):
    return clamp(input, max=max)


_export(clamp, "clamp", "clip")
_export(clamp_min, "clamp_min")
_export(clamp_max, "clamp_max")
clip = clamp
__all__.append("clip")
Tensor.clamp_ = Tensor.clip_ = lambda self, min=None, max=None: _inplace(
    self, lambda t: clamp(t, min, max)
)


class Where(ArrayFunction):
    @staticmethod
    def forward(ctx, cond, a, b, dtype):
        ctx.save_for_backward(cond)
        return np.where(cond, _operand_arr(a, dtype), _operand_arr(b, dtype)).astype(
            dtype, copy=False
        )

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
        return _maybe_out(Where.apply(condition if same else cond, input, other, dt), out)
    except ValueError:
        raise RuntimeError(
            f"where: shapes cannot be broadcast together: condition {list(cond.shape)}, input "
            f"{list(getattr(input, 'shape', []))}, other {list(getattr(other, 'shape', []))}"
        ) from None


__all__.append("where")
Tensor.where = lambda self, condition, other: where(condition, self, other)


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


for _f in (lerp, addcmul, addcdiv, float_power, hypot, xlogy):
    _export(_f, _f.__name__)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """Replace NaN and infinities by finite numbers; the gradient passes where finite."""
    d = input._data
    finite = np.isfinite(d)
    repl = np.nan_to_num(d, nan=nan, posinf=posinf, neginf=neginf)
    return where(wrap(finite), input, wrap(repl.astype(d.dtype, copy=False)))


_export(nan_to_num, "nan_to_num")


def _predicate(name, np_fn):
    def fn(input):
        d = input._data
        return wrap(np.asarray(np_fn(d)))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name}, giving a bool tensor."
    _export(fn, name)
    return fn


isnan = _predicate("isnan", np.isnan)
isinf = _predicate("isinf", np.isinf)
isfinite = _predicate("isfinite", np.isfinite)
isposinf = _predicate("isposinf", np.isposinf)
isneginf = _predicate("isneginf", np.isneginf)
signbit = _predicate("signbit", np.signbit)
logical_not = _predicate("logical_not", np.logical_not)


def bitwise_not(input):
    if input.is_floating_point():
        raise NotImplementedError(f"\"bitwise_not_cpu\" not implemented for '{input.dtype.name}'")
    return wrap(np.invert(input._data))


_export(bitwise_not, "bitwise_not")


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return bool(np.allclose(input._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    o = other._data if isinstance(other, Tensor) else other
    return wrap(np.isclose(input._data, o, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input, other):
    return input.shape == other.shape and bool(np.array_equal(input._data, other._data))


for _f in (allclose, isclose, equal):
    _export(_f, _f.__name__)


# -- in-place forms --------------------------------------------------------------------------


def _check_inplace(t, name):
    if not GRAD_ENABLED[0]:
        return
    if t.grad_fn is None and t._requires_grad:
        raise RuntimeError(
            "a leaf Variable that requires grad is being used in an in-place operation."
        )
    base = t._base
    if t.grad_fn is not None and base is not None and base.grad_fn is None and base._requires_grad:
        raise RuntimeError(
            "a view of a leaf Variable that requires grad is being used in an in-place operation."
        )


def _view_positions(base, view):
    """For each element of ``view`` (an array sharing ``base``'s memory), the C-order flat
    index of the same element in ``base``; None where the view is no strided window of it."""
    item = base.itemsize
    if any(s <= 0 for s in base.strides if s) or any(s < 0 for s in view.strides):
        return None
    start = base.__array_interface__["data"][0]
    offset, rem = divmod(view.__array_interface__["data"][0] - start, item)
    span = 1 + sum((n - 1) * s // item for n, s in zip(base.shape, base.strides) if n)
    if rem or offset < 0 or any(s % item for s in base.strides + view.strides):
        return None
    memory = np.full(span, -1, np.int64)  # base's memory, holding each element's flat index
    strides = tuple(s // item * 8 for s in base.strides)
    np.lib.stride_tricks.as_strided(memory, base.shape, strides)[...] = np.arange(
        base.size
    ).reshape(base.shape)
    vstrides = tuple(s // item * 8 for s in view.strides)
    ids = np.lib.stride_tricks.as_strided(memory[offset:], view.shape, vstrides).copy()
    return None if (ids < 0).any() else ids


def _rebase(base, old_base, ids, result):
    """Record on ``base`` that the elements at ``ids`` now hold ``result`` (PyTorch's
    CopySlices): later uses of the base differentiate through the in-place op on its view."""
    flat = old_base.reshape(-1).index_copy(0, wrap(ids.reshape(-1)), result.reshape(-1))
    new = flat.reshape(tuple(base._data.shape))
    base.grad_fn, base._output_nr, base._requires_grad = new.grad_fn, new._output_nr, True


def has_internal_overlap(arr):
    """Whether several elements of ``arr`` share one memory location (an expanded view)."""
    return any(st == 0 and n > 1 for n, st in zip(arr.shape, arr.strides))


def check_no_internal_overlap(t):
    if has_internal_overlap(t._data):
        raise RuntimeError(
            "unsupported operation: more than one element of the written-to tensor refers to a "
            f"single memory location (a tensor of shape {list(t.shape)} with strides "
            f"{list(t.stride())}). Please clone() the tensor before performing the operation."
        )


def _inplace(self, fn, *args, **kwargs):
    """Compute ``fn(self, ...)`` and write it into ``self``'s memory.

    With autograd recording, ``self`` takes the new node as its grad_fn; the old value is kept
    in a private copy for the graph, and tensors saved earlier see the version go up.
    """
    _check_inplace(self, getattr(fn, "__name__", "op"))
    check_no_internal_overlap(self)
    tracking = GRAD_ENABLED[0] and (
        self._requires_grad or any(isinstance(a, Tensor) and a._requires_grad for a in args)
    )
    rebase = None
    if tracking:
        old = wrap(self._data.copy())
        old._requires_grad, old.grad_fn, old._output_nr = (
            self._requires_grad, self.grad_fn, self._output_nr)  # fmt: skip
        result = fn(old, *args, **kwargs)
        base = self._base
        # A view of ``base``: recorded, or of a base outside the graph (not a detached alias).
        if (
            base is not None
            and self._data is not base._data
            and (self.grad_fn is not None or not base._requires_grad)
        ):
            ids = _view_positions(base._data, self._data)
            if ids is not None:
                old_base = wrap(base._data.copy())
                old_base._requires_grad, old_base.grad_fn, old_base._output_nr = (
                    base._requires_grad, base.grad_fn, base._output_nr)  # fmt: skip
                rebase = (base, old_base, ids)
    else:
        from ember._ops.foreach import write_into  # imports this module
        from ember.autograd.grad_mode import no_grad

        if write_into(self, fn, args, kwargs):  # one pass, straight into self's memory
            return self
        with no_grad():
            result = fn(self, *args, **kwargs)
    r = result._data
    if r.shape != self._data.shape:
        if np.broadcast_shapes(r.shape, self._data.shape) != self._data.shape:
            raise RuntimeError(
                f"output with shape {list(self.shape)} doesn't match the broadcast shape "
                f"{list(np.broadcast_shapes(r.shape, self._data.shape))}"
            )
    if r.dtype != self._data.dtype and not np.can_cast(r.dtype, self._data.dtype, "same_kind"):
        raise RuntimeError(
            f"result type {_dtype.from_np(r.dtype).name.capitalize()} can't be cast to the "
            f"desired output type {_dtype.from_np(self._data.dtype).name.capitalize()}"
        )
    np.copyto(self._data, r, casting="unsafe")
    self._vc[0] += 1
    if rebase is not None:
        written = result if r.dtype == self._data.dtype else result.to(self.dtype)
        _rebase(*rebase, written.expand(tuple(self._data.shape)))
    if tracking:
        self.grad_fn = result.grad_fn
        self._output_nr = result._output_nr
        self._requires_grad = True
    return self


def _inplace_binary(name, fn):
    def method(self, other, *args, **kwargs):
        return _inplace(self, fn, other, *args, **kwargs)

    method.__name__ = name
    setattr(Tensor, name, method)


for _name, _fn in (
    ("add_", add), ("sub_", sub), ("mul_", mul), ("div_", div), ("pow_", pow),
    ("subtract_", sub), ("multiply_", mul), ("divide_", div), ("true_divide_", div),
    ("remainder_", remainder), ("fmod_", fmod), ("floor_divide_", floor_divide),
    ("atan2_", atan2), ("maximum_", maximum), ("minimum_", minimum), ("lerp_", lerp),
    ("addcmul_", addcmul), ("addcdiv_", addcdiv), ("eq_", eq), ("ne_", ne), ("lt_", lt),
    ("le_", le), ("gt_", gt), ("ge_", ge), ("bitwise_and_", bitwise_and),
    ("bitwise_or_", bitwise_or), ("bitwise_xor_", bitwise_xor), ("logical_and_", logical_and),
    ("logical_or_", logical_or), ("hypot_", hypot), ("xlogy_", xlogy),
    ("clamp_min_", clamp_min), ("clamp_max_", clamp_max),
):  # fmt: skip
    _inplace_binary(_name, _fn)
Tensor.nan_to_num_ = lambda self, *a, **k: _inplace(self, nan_to_num, *a, **k)
Tensor.logical_not_ = lambda self: _inplace(self, logical_not)


# -- operators -------------------------------------------------------------------------------


_OPERANDS = (Tensor, int, float, complex, np.number)


def _reflected(fn):
    def op(self, other):
        if isinstance(other, _OPERANDS):
            return fn(other, self)
        if isinstance(other, np.ndarray):
            return fn(wrap(other), self)
        return NotImplemented

    return op


def _forward_op(fn):
    def op(self, other):
        if isinstance(other, _OPERANDS):
            return fn(self, other)
        if isinstance(other, np.ndarray):
            return fn(self, wrap(other))
        return NotImplemented

    return op


Tensor.__add__ = _forward_op(add)
Tensor.__radd__ = _reflected(add)
Tensor.__sub__ = _forward_op(sub)
Tensor.__rsub__ = _reflected(sub)
Tensor.__mul__ = _forward_op(mul)
Tensor.__rmul__ = _reflected(mul)
Tensor.__truediv__ = _forward_op(div)
Tensor.__rtruediv__ = _reflected(div)
Tensor.__floordiv__ = _forward_op(floor_divide)
Tensor.__rfloordiv__ = _reflected(floor_divide)
Tensor.__mod__ = _forward_op(remainder)
Tensor.__rmod__ = _reflected(remainder)
Tensor.__pow__ = _forward_op(pow)
Tensor.__rpow__ = _reflected(pow)
Tensor.__and__ = _forward_op(lambda a, b: _bool_or_bitwise(a, b, logical_and, bitwise_and))
Tensor.__rand__ = Tensor.__and__
Tensor.__or__ = _forward_op(lambda a, b: _bool_or_bitwise(a, b, logical_or, bitwise_or))
Tensor.__ror__ = Tensor.__or__
Tensor.__xor__ = _forward_op(lambda a, b: _bool_or_bitwise(a, b, logical_xor, bitwise_xor))
Tensor.__rxor__ = Tensor.__xor__
Tensor.__lshift__ = _forward_op(bitwise_left_shift)
Tensor.__rshift__ = _forward_op(bitwise_right_shift)
Tensor.__eq__ = lambda self, other: eq(self, other)
Tensor.__ne__ = lambda self, other: ne(self, other)
Tensor.__lt__ = _forward_op(lt)
Tensor.__le__ = _forward_op(le)
Tensor.__gt__ = _forward_op(gt)
Tensor.__ge__ = _forward_op(ge)
Tensor.__neg__ = lambda self: neg(self)  # noqa: F821
Tensor.__pos__ = lambda self: self
Tensor.__abs__ = lambda self: abs(self)  # noqa: F821
Tensor.__invert__ = lambda self: (
    logical_not(self) if self._data.dtype == np.bool_ else bitwise_not(self)
)
Tensor.__iadd__ = lambda self, other: self.add_(other)
Tensor.__isub__ = lambda self, other: self.sub_(other)
Tensor.__imul__ = lambda self, other: self.mul_(other)
Tensor.__itruediv__ = lambda self, other: self.div_(other)
Tensor.__ifloordiv__ = lambda self, other: self.floor_divide_(other)
Tensor.__imod__ = lambda self, other: self.remainder_(other)
Tensor.__ipow__ = lambda self, other: self.pow_(other)
Tensor.__iand__ = lambda self, other: _inplace(self, Tensor.__and__, other)
Tensor.__ior__ = lambda self, other: _inplace(self, Tensor.__or__, other)
Tensor.__ixor__ = lambda self, other: _inplace(self, Tensor.__xor__, other)


def _bool_or_bitwise(a, b, logical, bitwise):
    a_bool = not isinstance(a, Tensor) and isinstance(a, bool) or (
        isinstance(a, Tensor) and a._data.dtype == np.bool_)  # fmt: skip
    b_bool = isinstance(b, bool) or (isinstance(b, Tensor) and b._data.dtype == np.bool_)
    return logical(a, b) if a_bool and b_bool else bitwise(a, b)


Tensor.__hash__ = lambda self: id(self)
