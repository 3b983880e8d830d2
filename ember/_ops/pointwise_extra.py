"""Pointwise math beyond arithmetic.py: sign and exponent manipulation (copysign, ldexp,
frexp, nextafter, heaviside), integer gcd and lcm, NaN-ignoring extrema (fmax, fmin),
addition in log space, angle conversion, and the top-level in-place forms (``ember.clamp_``,
``ember.arccos_``, ...) of pointwise ops."""

import math

import numpy as np

from ember import _dtype
from ember._ops import arithmetic, comparison, reduce, shape, special, unary
from ember._ops._numpy_kwargs import numpy_kwargs
from ember._ops._promotion import cast, maybe_out, operand_array, result_dtype
from ember._ops._return_types import return_type
from ember._tensor import Tensor, wrap
from ember.autograd.function import ArrayFunction
from ember.autograd.inplace import inplace

__all__ = [
    "copysign", "heaviside", "nextafter", "ldexp", "frexp", "gcd", "lcm", "logaddexp",
    "logaddexp2", "fmax", "fmin", "rad2deg", "deg2rad", "fix", "rsub", "negative_", "fix_",
    "rad2deg_", "deg2rad_", "gcd_", "lcm_", "ldexp_", "xlogy_", "sinc_", "i0_", "clamp_",
    "clamp_min_", "clamp_max_", "clip_", "round_", "nan_to_num_", "arccos_", "arccosh_",
    "arcsin_", "arcsinh_", "arctan_", "arctanh_",
]  # fmt: skip

frexp_result = return_type("frexp", ["mantissa", "exponent"])


def _require_tensor(op, name, position, value):
    if not isinstance(value, Tensor):
        raise TypeError(
            f"{op}(): argument '{name}' (position {position}) must be Tensor, not "
            f"{type(value).__name__}"
        )


def _require_broadcastable(op, input, other):
    try:
        np.broadcast_shapes(tuple(input.shape), tuple(other.shape))
    except ValueError:
        raise RuntimeError(
            f"{op}: the shapes {list(input.shape)} and {list(other.shape)} cannot be broadcast "
            "together"
        ) from None


def _dtype_name(dt):
    return _dtype.from_np(np.dtype(dt)).name


def _not_implemented(op, dt):
    return NotImplementedError(f"\"{op}_cpu\" not implemented for '{_dtype_name(dt).capitalize()}'")


def _float_dtype(input, other):
    """The result dtype of a float op: promoted, integers and bools as the default float."""
    dt = result_dtype(input, other)
    return _dtype.get_default_dtype().np if dt.kind in "iub" else dt


class _Binary(ArrayFunction):
    """``kernel(a, b)`` on the operands cast to ``dtype``; ``grads(a, b, out, g)`` gives the
    input gradients in ember ops (None for a kernel without a derivative)."""

    kernel = grads = None

    @classmethod
    def forward(cls, ctx, a, b, dtype):
        out = cast(np.asarray(cls.kernel(operand_array(a, dtype), operand_array(b, dtype))), dtype)
        if cls.grads is not None:
            ctx.save_for_backward(a, b, out)
        return out

    @classmethod
    def backward(cls, ctx, g):
        if cls.grads is None:
            return None, None, None
        a, b, out = ctx.saved_tensors
        return (*cls.grads(a, b, out, g), None)


def _binary_op(name, kernel, grads=None):
    attrs = {"kernel": staticmethod(kernel), "grads": grads and staticmethod(grads)}
    return type(name, (_Binary,), attrs)


def _apply(cls, op, input, other, dtype):
    try:
        return cls.apply(input, other, dtype)
    except ValueError as e:
        raise RuntimeError(
            f"{op}: the shapes {list(input.shape)} and {list(other.shape)} cannot be broadcast "
            "together"
        ) from e


def _copysign_grads(a, b, out, g):
    zero = a == 0  # the gradient is 0 there; dividing by 1 keeps NaN out of double backward
    ratio = comparison.where(zero, 0.0, out / comparison.where(zero, 1.0, a))
    return g * ratio, None


_Copysign = _binary_op("Copysign", np.copysign, _copysign_grads)


def copysign(input, other, *, out=None):
    """The magnitude of ``input`` with the sign (sign bit included) of ``other``."""
    _require_tensor("copysign", "input", 1, input)
    dt = _float_dtype(input, other)
    if dt.kind == "c":
        raise _not_implemented("copysign", dt)
    return maybe_out(_apply(_Copysign, "copysign", input, other, dt), out)


def _heaviside_kernel(x, values):
    return np.where(x == 0, values, x > 0)


_Heaviside = _binary_op("Heaviside", _heaviside_kernel)


def heaviside(input, values, *, out=None):
    """0 where ``input < 0``, ``values`` where it is 0, 1 where it is greater (NaN gives 0)."""
    _require_tensor("heaviside", "input", 1, input)
    _require_tensor("heaviside", "values", 2, values)
    if input._data.dtype != values._data.dtype:
        raise RuntimeError(
            "heaviside is not yet implemented for tensors with different dtypes "
            f"({input.dtype} and {values.dtype})."
        )
    if input._data.dtype.kind == "c":
        raise RuntimeError("heaviside is not yet implemented for complex tensors.")
    if input.requires_grad or values.requires_grad:
        input, values = input.detach(), values.detach()
    return maybe_out(_apply(_Heaviside, "heaviside", input, values, input._data.dtype), out)


_Nextafter = _binary_op("Nextafter", np.nextafter)


def nextafter(input, other, *, out=None):
    """The next floating-point value after ``input`` towards ``other``."""
    _require_tensor("nextafter", "input", 1, input)
    _require_tensor("nextafter", "other", 2, other)
    dt = result_dtype(input, other)
    if dt.kind != "f":
        raise _not_implemented("nextafter", dt)
    result = _apply(_Nextafter, "nextafter", input.detach(), other.detach(), dt)
    return maybe_out(result, out)


def ldexp(input, other, *, out=None):
    """input * 2 ** other."""
    _require_tensor("ldexp", "input", 1, input)
    _require_tensor("ldexp", "other", 2, other)
    _require_broadcastable("ldexp", input, other)
    dt = _dtype.from_np(_float_dtype(input, other))
    result = input.to(dt) * arithmetic.pow(2.0, other.to(dt))
    return maybe_out(result, out)


class _Frexp(ArrayFunction):
    @staticmethod
    def forward(ctx, x):
        mantissa, exponent = np.frexp(x)
        exponent = exponent.astype(np.int32, copy=False)
        ctx.save_for_backward(exponent)
        return mantissa, exponent

    @staticmethod
    def backward(ctx, g_mantissa, g_exponent):
        (exponent,) = ctx.saved_tensors
        scale = np.ldexp(np.ones((), g_mantissa._data.dtype), -exponent._data)
        return g_mantissa * wrap(scale.astype(g_mantissa._data.dtype, copy=False))


def frexp(input, *, out=None):
    """(mantissa, exponent) with input = mantissa * 2 ** exponent and 0.5 <= |mantissa| < 1."""
    if input._data.dtype.kind != "f":
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    mantissa, exponent = _Frexp.apply(input)
    if out is not None:
        maybe_out(mantissa, out[0])
        maybe_out(exponent, out[1])
        return frexp_result(*out)
    return frexp_result(mantissa, exponent)


def _integer_op(name, kernel):
    cls = _binary_op(name.title(), kernel)

    def fn(input, other, *, out=None):
        _require_tensor(name, "input", 1, input)
        _require_tensor(name, "other", 2, other)
        dt = result_dtype(input, other)
        if dt.kind not in "iu":
            raise _not_implemented(name, dt)
        return maybe_out(_apply(cls, name, input, other, dt), out)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name} of two integer tensors (non-negative)."
    return fn


gcd = _integer_op("gcd", np.gcd)
lcm = _integer_op("lcm", np.lcm)


def _logaddexp_grads(base):
    def grads(a, b, out, g):
        pa = base ** (a - out)  # the share of each operand in the sum
        pb = base ** (b - out)
        return g * pa, g * pb

    return grads


_LogAddExp = _binary_op("LogAddExp", np.logaddexp, _logaddexp_grads(math.e))
_LogAddExp2 = _binary_op("LogAddExp2", np.logaddexp2, _logaddexp_grads(2.0))


def _log_space_add(name, cls):
    def fn(input, other, *, out=None):
        _require_tensor(name, "input", 1, input)
        _require_tensor(name, "other", 2, other)
        dt = result_dtype(input, other)
        if dt.kind != "f":
            if dt.kind == "c":
                raise NotImplementedError(f"{name} is not supported for complex tensors in ember")
            raise _not_implemented(name, dt)
        return maybe_out(_apply(cls, name, input, other, dt), out)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"{name}(a, b): the log of the sum of exponentials, computed stably."
    return fn


logaddexp = _log_space_add("logaddexp", _LogAddExp)
logaddexp2 = _log_space_add("logaddexp2", _LogAddExp2)


def _extremum_grads(compare):
    def grads(a, b, out, g):
        to_a = compare(a, b).logical_or(b.isnan())  # ties go to ``a``, as in PyTorch
        zero = g.new_zeros(())
        return comparison.where(to_a, g, zero), comparison.where(to_a, zero, g)

    return grads


_Fmax = _binary_op("Fmax", np.fmax, _extremum_grads(comparison.ge))
_Fmin = _binary_op("Fmin", np.fmin, _extremum_grads(comparison.le))


def _nan_ignoring_extremum(name, cls):
    def fn(input, other, *, out=None):
        _require_tensor(name, "input", 1, input)
        _require_tensor(name, "other", 2, other)
        dt = result_dtype(input, other)
        if dt.kind == "c":
            raise RuntimeError(f"{name} not implemented for complex tensors.")
        return maybe_out(_apply(cls, name, input, other, dt), out)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name[1:]}imum; where one operand is NaN, the other one."
    return fn


fmax = _nan_ignoring_extremum("fmax", _Fmax)
fmin = _nan_ignoring_extremum("fmin", _Fmin)


def _angle_conversion(name, factor):
    def fn(input, *, out=None):
        if input._data.dtype.kind == "c":
            raise RuntimeError(f"{name} is not supported for complex tensors.")
        if input._data.dtype.kind in "iub":
            input = input.to(_dtype.get_default_dtype())
        return maybe_out(input * factor, out)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name} (multiplication by {factor!r})."
    return fn


rad2deg = _angle_conversion("rad2deg", 180.0 / math.pi)
deg2rad = _angle_conversion("deg2rad", math.pi / 180.0)
fix = unary.trunc


def rsub(input, other, *, alpha=1):
    """other - alpha * input."""
    return arithmetic.sub(other, input, alpha=alpha)


# -- in-place forms ----------------------------------------------------------------------------


def _in_place(fn, name):
    def method(self, *args, **kwargs):
        return inplace(self, fn, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    return method


def _to_float_in_place(name, fn):
    """An in-place form whose result is float: refused on integer tensors, as in PyTorch."""

    def method(self, *args, **kwargs):
        if self._data.dtype.kind in "iub":
            raise RuntimeError(
                f"result type Float can't be cast to the desired output type "
                f"{_dtype_name(self._data.dtype).capitalize()}"
            )
        return inplace(self, fn, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    return method


def float_power_(self, exponent):
    """``self = self ** exponent`` in float64; ``self`` must already be float64 (or complex128)."""
    if self._data.dtype not in (np.float64, np.complex128):
        raise RuntimeError(
            f"the base given to float_power_ has dtype {_dtype_name(self._data.dtype).capitalize()}"
            " but the operation's result requires dtype Double"
        )
    return inplace(self, arithmetic.float_power, exponent)


def tril_(self, diagonal=0):
    return inplace(self, shape.tril, diagonal)


def triu_(self, diagonal=0):
    return inplace(self, shape.triu, diagonal)


@numpy_kwargs
def cumprod_(self, dim, *, dtype=None):
    return inplace(self, reduce.cumprod, dim, dtype=dtype)


def bitwise_not_(self):
    return inplace(self, arithmetic.bitwise_not)


negative_ = unary.neg_
fix_ = unary.trunc_
arcsin_, arccos_, arctan_ = unary.asin_, unary.acos_, unary.atan_
arcsinh_, arccosh_, arctanh_ = unary.asinh_, unary.acosh_, unary.atanh_
rad2deg_ = _to_float_in_place("rad2deg_", rad2deg)
deg2rad_ = _to_float_in_place("deg2rad_", deg2rad)
copysign_ = _to_float_in_place("copysign_", copysign)
ldexp_ = _to_float_in_place("ldexp_", ldexp)
gcd_ = _in_place(gcd, "gcd_")
lcm_ = _in_place(lcm, "lcm_")
heaviside_ = _in_place(heaviside, "heaviside_")
nextafter_ = _in_place(nextafter, "nextafter_")
xlogy_ = _in_place(special.xlogy, "xlogy_")
sinc_ = _in_place(special.sinc, "sinc_")
i0_ = _in_place(special.i0, "i0_")
nan_to_num_ = _in_place(arithmetic.nan_to_num, "nan_to_num_")
round_ = unary.round_


def clamp_(input, min=None, max=None):
    """Limit ``input``'s values to [min, max] in place."""
    return inplace(input, arithmetic.clamp, min, max)


def clamp_min_(input, min):
    return inplace(input, arithmetic.clamp, min)


def clamp_max_(input, max):
    return inplace(input, arithmetic.clamp, None, max)


clip_ = clamp_

METHODS = {
    "copysign": copysign, "heaviside": heaviside, "nextafter": nextafter, "ldexp": ldexp,
    "frexp": frexp, "gcd": gcd, "lcm": lcm, "logaddexp": logaddexp, "logaddexp2": logaddexp2,
    "fmax": fmax, "fmin": fmin, "rad2deg": rad2deg, "deg2rad": deg2rad,
    "float_power_": float_power_, "tril_": tril_, "triu_": triu_, "cumprod_": cumprod_,
    "bitwise_not_": bitwise_not_, "negative_": negative_, "absolute_": unary.abs_,
    "fix_": fix_, "arcsin_": arcsin_, "arccos_": arccos_, "arctan_": arctan_,
    "arcsinh_": arcsinh_, "arccosh_": arccosh_, "arctanh_": arctanh_, "rad2deg_": rad2deg_,
    "deg2rad_": deg2rad_, "copysign_": copysign_, "ldexp_": ldexp_, "gcd_": gcd_,
    "lcm_": lcm_, "heaviside_": heaviside_, "nextafter_": nextafter_,
    "swapaxes_": shape.transpose_, "swapdims_": shape.transpose_,
}  # fmt: skip
"""Tensor methods of this family, bound by ``_methods.py``."""

IN_PLACE_BINARY_METHODS = {
    "arctan2_": arithmetic.atan2, "greater_": comparison.gt, "greater_equal_": comparison.ge,
    "less_": comparison.lt, "less_equal_": comparison.le, "not_equal_": comparison.ne,
    "logical_xor_": comparison.logical_xor,
    "bitwise_left_shift_": arithmetic.bitwise_left_shift,
    "bitwise_right_shift_": arithmetic.bitwise_right_shift,
}  # fmt: skip
"""In-place Tensor methods ``self = fn(self, other)`` of this family."""
