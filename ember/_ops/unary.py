"""Unary math: exp, log, trig, rounding and the like, each with its derivative written in
ember ops; ``<name>_`` is the in-place form (``ember.exp_`` and ``Tensor.exp_``)."""

import math

import numpy as np

from ember._ops._promotion import maybe_out
from ember._ops._special import erfinv as _erfinv
from ember._ops._util import float_np
from ember._ops.arithmetic import clamp
from ember._ops.complex import sgn_grad
from ember._tensor import wrap
from ember.autograd.function import ArrayFunction
from ember.autograd.grad_mode import GRAD_ENABLED
from ember.autograd.inplace import inplace
from ember.backends.numpy import activation_grad, log1p_expm1
from ember.backends.numpy.erf import erf as _erf
from ember.backends.numpy.threads import MIN_ELEMENTS, elementwise, keeps_dtype
from ember.backends.onednn import chain_grad
from ember.backends.onednn import eltwise as onednn_eltwise

_NAMES = (
    "neg", "abs", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt",
    "square", "reciprocal", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
    "asinh", "acosh", "atanh", "sigmoid", "logit", "erf", "erfc", "erfinv", "floor", "ceil",
    "trunc", "sign", "frac", "sgn",
)  # fmt: skip
_ALIASES = ("negative", "absolute", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh")
__all__ = [*_NAMES, *(n + "_" for n in _NAMES), *_ALIASES, "round"]


# Arrays smaller than this go to neither oneDNN nor the threads: one NumPy call, without
# asking them.
_ONE_CALL = min(MIN_ELEMENTS, onednn_eltwise.MIN_ELEMENTS)


def _unary(
    name,
    np_fn,
    grad,
    *,
    float_only=True,
    save="xy",
    holomorphic=True,
    complex_ok=True,
    fused_grad=None,
    onednn=None,
    onednn_grad=None,
    array_grad=None,
):
    """The op ``name`` = ``np_fn`` with derivative ``grad(x, y, g)`` written in ember ops.

    ``save`` names what ``grad`` reads, the input ``x`` and/or the output ``y`` (the other is
    passed as None): keeping only the output, as PyTorch does for tanh or exp, leaves the
    input free to be changed in place. On complex input a ``holomorphic`` op's gradient is
    ``g * conj(f'(z))``, which is ``grad`` evaluated at the conjugates (f has real Taylor
    coefficients: f(z*) = f(z)*). ``fused_grad(g, y, out=None)``, on arrays, computes the
    same gradient of a real floating point output in few passes; it serves backwards that
    are not being recorded. ``onednn`` names oneDNN's function for large float32 arrays
    (``backends/onednn/eltwise.py``), with ``np_fn`` for what it does not compute exactly;
    ``onednn_grad`` its function whose backward reads the output (a name ending in
    ``_dst``) or the input, one pass on every core where the backward is not being recorded
    (before ``fused_grad``). ``array_grad(g, x, y)``, on arrays (those not saved are None),
    gives the gradient in one pass or None; it is tried first where the backward is not
    being recorded."""
    save_x, save_y = "x" in save, "y" in save

    def forward(ctx, x):
        if float_only and x.dtype.kind in "iub":
            x = float_np(x)
        if x.__class__ is np.ndarray and x.size < _ONE_CALL:
            y = np_fn(x)
        else:
            y = None if onednn is None else onednn_eltwise.forward(onednn, x, exact=np_fn)
            if y is None:
                small = x.__class__ is np.ndarray and x.size < MIN_ELEMENTS  # not worth splitting
                y = np_fn(x) if small else elementwise(np_fn, x)
        if ctx.needs_input_grad[0]:
            if save_x and save_y:
                ctx.save_for_backward(x, y)
            elif save_x or save_y:
                ctx.save_for_backward(x if save_x else y)
        return y

    def backward(ctx, g):
        x = y = None
        if save_x and save_y:
            x, y = ctx.saved_tensors
        elif save_x:
            (x,) = ctx.saved_tensors
        elif save_y:
            (y,) = ctx.saved_tensors
        if array_grad is not None and not GRAD_ENABLED[0]:
            gx = array_grad(g._data, None if x is None else x._data, None if y is None else y._data)
            if gx is not None:
                return wrap(gx)
        if onednn_grad is not None and not GRAD_ENABLED[0]:
            saved = y if onednn_grad.endswith("_dst") else x
            gx = onednn_eltwise.backward(onednn_grad, g._data, saved._data)
            if gx is not None:
                return wrap(gx)
        if fused_grad is not None and not GRAD_ENABLED[0]:
            gd, yd = g._data, y._data
            same = gd.dtype == yd.dtype and gd.shape == yd.shape
            if same and yd.dtype.kind == "f" and activation_grad.plain_arrays(gd, yd):
                return wrap(elementwise(fused_grad, gd, yd))
        if holomorphic and (x if save_x else y) is not None:
            if (x if save_x else y)._data.dtype.kind == "c":
                x, y = _conj(x), _conj(y)
        return grad(x, y, g)

    cls = type(name.title().replace("_", ""), (ArrayFunction,), {
        "forward": staticmethod(forward), "backward": staticmethod(backward)})  # fmt: skip

    def fn(input, *, out=None):
        if not complex_ok and input._data.dtype.kind == "c":
            raise NotImplementedError(f"{name} is not supported for complex inputs")
        r = cls.apply(input)
        return r if out is None else maybe_out(r, out)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name}."
    return fn


def _conj(t):
    return None if t is None else t.conj()


def _in_place(fn):
    """``fn_(t)``: ``t = fn(t)`` written into ``t``'s memory."""

    def method(self):
        return inplace(self, fn)

    method.__name__ = method.__qualname__ = fn.__name__ + "_"
    return method


def _sign(x):
    return wrap(sign_array(x._data))


def _abs_grad_on_onednn(g, x, y):
    """abs's gradient ``g * sign(x)`` of large float32 arrays in one pass on oneDNN, where x
    holds no NaN (its minimum, a fifth of the pass, is NaN if any element is), or None."""
    if x.__class__ is np.ndarray and x.size >= chain_grad.MIN_ELEMENTS:
        if x.dtype == np.float32 and not np.isnan(x.min()):
            return chain_grad.sign_times(g, x)
    return None


def _abs_derivative(x):
    """sign(x); for complex x the differentiable sgn(x) = x / |x| (it depends on x)."""
    return x.sgn() if x._data.dtype.kind == "c" else _sign(x)


def _zero_grad(x, y, g):
    return g * 0


@keeps_dtype
def sigmoid_array(x, out=None):
    """1 / (1 + exp(-x)) in place in one buffer; where exp(-x) overflows the result is 0, as
    in PyTorch."""
    out = np.negative(x, out=np.empty_like(x) if out is None else out)
    np.exp(out, out=out)
    np.add(out, 1, out=out)
    return np.reciprocal(out, out=out)


@keeps_dtype
def rsqrt_array(x, out=None):
    out = np.sqrt(x, out=np.empty_like(x) if out is None else out)
    return np.reciprocal(out, out=out)


def _rsqrt(x):
    root = onednn_eltwise.inverse_sqrt(x)
    return elementwise(rsqrt_array, x) if root is None else root


def sign_array(x, out=None):
    """-1, 0 or 1; NaN gives 0, as in PyTorch (NumPy's sign keeps NaN)."""
    r = np.sign(x, out=out)
    if r.dtype.kind != "f":
        return r
    if not isinstance(r, np.ndarray):  # NumPy gives a scalar for 0-d input without out=
        return r.dtype.type(0) if np.isnan(r) else r
    np.copyto(r, 0, where=np.isnan(r))
    return r


_SQRT_PI = math.sqrt(math.pi)

neg = _unary("neg", np.negative, lambda x, y, g: -g, float_only=False, save="")
abs = _unary("abs", np.abs, lambda x, y, g: g * _abs_derivative(x), float_only=False,
             holomorphic=False, onednn="abs", array_grad=_abs_grad_on_onednn)  # fmt: skip
exp = _unary("exp", np.exp, lambda x, y, g: g * y, fused_grad=activation_grad.exp_grad_y, save="y",
             onednn="exp")  # fmt: skip
exp2 = _unary("exp2", np.exp2, lambda x, y, g: g * y * math.log(2), save="y")
expm1 = _unary("expm1", log1p_expm1.expm1, lambda x, y, g: g * (y + 1), save="y")
log = _unary("log", np.log, lambda x, y, g: g / x)
log2 = _unary("log2", np.log2, lambda x, y, g: g / (x * math.log(2)))
log10 = _unary("log10", np.log10, lambda x, y, g: g / (x * math.log(10)))
log1p = _unary("log1p", log1p_expm1.log1p, lambda x, y, g: g / (x + 1))
sqrt = _unary("sqrt", np.sqrt, lambda x, y, g: g / (2 * y),
              fused_grad=activation_grad.sqrt_grad_y, save="y", onednn="sqrt")  # fmt: skip
rsqrt = _unary("rsqrt", _rsqrt, lambda x, y, g: -0.5 * g * y * y * y,
               fused_grad=activation_grad.rsqrt_grad_y, save="y")  # fmt: skip
square = _unary("square", np.square, lambda x, y, g: 2 * g * x, float_only=False, save="x",
                onednn="square", onednn_grad="square")  # fmt: skip
reciprocal = _unary("reciprocal", np.reciprocal, lambda x, y, g: -g * y * y,
                    fused_grad=activation_grad.reciprocal_grad_y, save="y",
                    onednn="reciprocal")  # fmt: skip
sin = _unary("sin", np.sin, lambda x, y, g: g * x.cos())
cos = _unary("cos", np.cos, lambda x, y, g: -g * x.sin())
tan = _unary("tan", np.tan, lambda x, y, g: g * (1 + y * y), save="y")
asin = _unary("asin", np.arcsin, lambda x, y, g: g * (1 - x * x).rsqrt())
acos = _unary("acos", np.arccos, lambda x, y, g: -g * (1 - x * x).rsqrt())
atan = _unary("atan", np.arctan, lambda x, y, g: g / (1 + x * x))
sinh = _unary("sinh", np.sinh, lambda x, y, g: g * x.cosh())
cosh = _unary("cosh", np.cosh, lambda x, y, g: g * x.sinh())
tanh = _unary("tanh", np.tanh, lambda x, y, g: g * (1 - y * y),
              fused_grad=activation_grad.tanh_grad_y, save="y", onednn="tanh",
              onednn_grad="tanh_dst")  # fmt: skip
asinh = _unary("asinh", np.arcsinh, lambda x, y, g: g * (x * x + 1).rsqrt())
acosh = _unary("acosh", np.arccosh, lambda x, y, g: g * (x * x - 1).rsqrt())
atanh = _unary("atanh", np.arctanh, lambda x, y, g: g / (1 - x * x))
sigmoid = _unary("sigmoid", sigmoid_array, lambda x, y, g: g * y * (1 - y),
                 fused_grad=activation_grad.sigmoid_grad_y, save="y", onednn="logistic",
                 onednn_grad="logistic_dst",
                 array_grad=lambda g, x, y: chain_grad.sigmoid_from_output(g, y))  # fmt: skip
_logit_unclamped = _unary("logit", lambda x: np.log(x / (1 - x)), lambda x, y, g: g / (x * (1 - x)))
erf = _unary("erf", _erf, lambda x, y, g: g * (2 / _SQRT_PI) * (-x * x).exp())
erfc = _unary("erfc", lambda x: 1 - _erf(x), lambda x, y, g: -g * (2 / _SQRT_PI) * (-x * x).exp())
erfinv = _unary("erfinv", _erfinv, lambda x, y, g: g * (_SQRT_PI / 2) * (y * y).exp(), save="y")
floor = _unary("floor", np.floor, _zero_grad, float_only=False, save="", complex_ok=False)
ceil = _unary("ceil", np.ceil, _zero_grad, float_only=False, save="", complex_ok=False)
trunc = _unary("trunc", np.trunc, _zero_grad, float_only=False, save="", complex_ok=False)
sign = _unary("sign", sign_array, _zero_grad, float_only=False, save="", complex_ok=False)
frac = _unary("frac", lambda x: x - np.trunc(x), lambda x, y, g: g, save="")
sgn = _unary("sgn", sign_array, sgn_grad, float_only=False, holomorphic=False)

negative, absolute, fix = neg, abs, trunc
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh


def logit(input, eps=None, *, out=None):
    """log(p / (1 - p)); with ``eps``, p is first clamped to [eps, 1 - eps]."""
    if eps is not None:
        input = clamp(input, eps, 1 - eps)
    return _logit_unclamped(input, out=out)


def logit_(self, eps=None):
    return inplace(self, logit, eps)


neg_, abs_, exp_, exp2_, expm1_ = map(_in_place, (neg, abs, exp, exp2, expm1))
log_, log2_, log10_, log1p_ = map(_in_place, (log, log2, log10, log1p))
sqrt_, rsqrt_, square_, reciprocal_ = map(_in_place, (sqrt, rsqrt, square, reciprocal))
sin_, cos_, tan_, asin_, acos_, atan_ = map(_in_place, (sin, cos, tan, asin, acos, atan))
sinh_, cosh_, tanh_ = map(_in_place, (sinh, cosh, tanh))
asinh_, acosh_, atanh_ = map(_in_place, (asinh, acosh, atanh))
sigmoid_, erf_, erfc_, erfinv_ = map(_in_place, (sigmoid, erf, erfc, erfinv))
floor_, ceil_, trunc_, sign_, frac_, sgn_ = map(_in_place, (floor, ceil, trunc, sign, frac, sgn))


class _Round(ArrayFunction):
    @staticmethod
    def forward(ctx, x):
        return np.round(x)

    @staticmethod
    def backward(ctx, g):
        return g * 0


def round(input, *, decimals=0, out=None):
    """Round half to even, as PyTorch does."""
    if decimals == 0:
        return maybe_out(_Round.apply(input), out)
    scale = 10.0**decimals
    return maybe_out(_Round.apply(input * scale) / scale, out)


def round_(self, decimals=0):
    return inplace(self, lambda t: round(t, decimals=decimals))
