"""Special functions (gamma family, Bessel, normal distribution, xlogy, ...) as differentiable ops.

The values come from SciPy (``_special.call``); each derivative is written with ember ops, so
that it is itself differentiable (digamma's derivative is polygamma(1, x), and so on).
"""

import math

import numpy as np

from ember import _dtype
from ember._ops import _special
from ember._ops._util import float_np
from ember._ops.elementwise import where
from ember._tensor import Tensor, wrap
from ember.autograd.function import ArrayFunction

__all__ = [
    "lgamma", "digamma", "polygamma", "mvlgamma", "erfcx", "i0", "i0e", "i1", "i1e", "ndtr",
    "ndtri", "log_ndtr", "xlogy", "xlog1py", "zeta", "sinc", "entr", "gammainc", "gammaincc",
    "igamma", "igammac", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1",
    "modified_bessel_i0", "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
    "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "spherical_bessel_j0", "airy_ai",
]  # fmt: skip

_SQRT_2PI = math.sqrt(2 * math.pi)
_SQRT_PI = math.sqrt(math.pi)


def _unary(name, scipy_name, grad):
    """An op ``name``: SciPy's ``scipy_name`` forward, ``grad(x, y, g)`` (ember ops) backward."""

    def forward(ctx, x):
        x = float_np(x)
        y = _special.call(scipy_name, x, dtype=x.dtype)
        ctx.save_for_backward(x, y)
        return y

    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return grad(x, y, g)

    cls = type(name.title().replace("_", ""), (ArrayFunction,),
               {"forward": staticmethod(forward), "backward": staticmethod(backward)})  # fmt: skip

    def fn(input, *, out=None):
        _check_tensor(name, input)
        return _into(cls.apply(input), out)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name} (SciPy's ``{scipy_name}``), differentiable."
    return fn


def _not_differentiable(name, scipy_name):
    """An op without a derivative in PyTorch: its result never requires grad."""

    def fn(input, *, out=None):
        _check_tensor(name, input)
        x = float_np(input._data)
        return _into(wrap(_special.call(scipy_name, x, dtype=x.dtype)), out)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise {name} (SciPy's ``{scipy_name}``); not differentiable."
    return fn


def _check_tensor(name, input):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")


def _into(result, out):
    if out is None:
        return result
    out.copy_(result)
    return out


def _safe_nonzero(x):
    """``x`` with zeros replaced by ones: keeps a masked-out branch free of 0/0."""
    return where(x == 0, 1.0, x)


def _i1_grad(x, y, g):
    xs = _safe_nonzero(x)
    return g * where(x == 0, 0.5, i0(x) - y / xs)


def _i1e_grad(x, y, g):
    xs = _safe_nonzero(x)
    return g * where(x == 0, 0.5, i0e(x) - y * (x.sign() + 1 / xs))


lgamma = _unary("lgamma", "gammaln", lambda x, y, g: g * digamma(x))
digamma = _unary("digamma", "digamma", lambda x, y, g: g * polygamma(1, x))
erfcx = _unary("erfcx", "erfcx", lambda x, y, g: g * (2 * x * y - 2 / _SQRT_PI))
i0 = _unary("i0", "i0", lambda x, y, g: g * i1(x))
i0e = _unary("i0e", "i0e", lambda x, y, g: g * (i1e(x) - x.sign() * y))
i1 = _unary("i1", "i1", _i1_grad)
i1e = _unary("i1e", "i1e", _i1e_grad)
ndtr = _unary("ndtr", "ndtr", lambda x, y, g: g * (-0.5 * x * x).exp() / _SQRT_2PI)
ndtri = _unary("ndtri", "ndtri", lambda x, y, g: g * _SQRT_2PI * (0.5 * y * y).exp())
log_ndtr = _unary(
    "log_ndtr", "log_ndtr", lambda x, y, g: g * (-(y + 0.5 * x * x)).exp() / _SQRT_2PI
)
entr = _unary("entr", "entr", lambda x, y, g: -g * (1 + x.log()))

bessel_j0 = _not_differentiable("bessel_j0", "j0")
bessel_j1 = _not_differentiable("bessel_j1", "j1")
bessel_y0 = _not_differentiable("bessel_y0", "y0")
bessel_y1 = _not_differentiable("bessel_y1", "y1")
modified_bessel_i0 = _not_differentiable("modified_bessel_i0", "i0")
modified_bessel_i1 = _not_differentiable("modified_bessel_i1", "i1")
modified_bessel_k0 = _not_differentiable("modified_bessel_k0", "k0")
modified_bessel_k1 = _not_differentiable("modified_bessel_k1", "k1")
scaled_modified_bessel_k0 = _not_differentiable("scaled_modified_bessel_k0", "k0e")
scaled_modified_bessel_k1 = _not_differentiable("scaled_modified_bessel_k1", "k1e")


def _spherical_j0(x):
    return np.sinc(x / np.pi)  # sin(x) / x, 1 at 0


def spherical_bessel_j0(input, *, out=None):
    """sin(x) / x; not differentiable, as in PyTorch."""
    _check_tensor("spherical_bessel_j0", input)
    x = float_np(input._data)
    return _into(wrap(_spherical_j0(x).astype(x.dtype, copy=False)), out)


def airy_ai(input, *, out=None):
    """The Airy function Ai; not differentiable, as in PyTorch."""
    _check_tensor("airy_ai", input)
    x = float_np(input._data)
    ai = _special.call("airy", x, dtype=None)[0]  # airy gives (Ai, Ai', Bi, Bi')
    return _into(wrap(ai.astype(x.dtype, copy=False)), out)


class Polygamma(ArrayFunction):
    """The n-th derivative of digamma."""

    @staticmethod
    def forward(ctx, x, n):
        ctx.n = n
        ctx.save_for_backward(x)
        if n == 0:
            return _special.call("digamma", x, dtype=x.dtype)
        return _special.call("polygamma", n, x, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * polygamma(ctx.n + 1, x), None


def polygamma(n, input, *, out=None):
    """psi^(n)(x), the n-th derivative of the digamma function."""
    _check_tensor("polygamma", input)
    if not isinstance(n, int | np.integer) or isinstance(n, bool):
        raise TypeError(f"polygamma(): argument 'n' must be int, not {type(n).__name__}")
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    x = input if input._data.dtype.kind == "f" else input.to(_dtype.get_default_dtype())
    return _into(Polygamma.apply(x, int(n)), out)


def mvlgamma(input, p, *, out=None):
    """log of the multivariate gamma function of dimension ``p``."""
    _check_tensor("mvlgamma", input)
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    x = input if input._data.dtype.kind == "f" else input.to(_dtype.get_default_dtype())
    offsets = wrap(-np.arange(p, dtype=x._data.dtype) / 2)
    result = lgamma(x.unsqueeze(-1) + offsets).sum(-1) + p * (p - 1) / 4 * math.log(math.pi)
    return _into(result, out)


# -- binary functions ---------------------------------------------------------------------------


def _float_pair(name, input, other):
    """Both arguments as tensors of their promoted floating dtype."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"{name}(): expected at least one Tensor argument")
    dt = _dtype.result_type(input, other)
    if not dt.is_floating_point:
        dt = _dtype.get_default_dtype()
    pair = []
    for v in (input, other):
        if isinstance(v, Tensor):
            pair.append(v if v.dtype == dt else v.to(dt))
        else:
            pair.append(wrap(np.asarray(v, dtype=dt.np)))
    a, b = pair
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise RuntimeError(
            f"{name}: The size of tensor a ({list(a.shape)}) must match the size of tensor b "
            f"({list(b.shape)}) (shapes cannot be broadcast together)"
        ) from None
    return a, b


class _XLogY(ArrayFunction):
    """x * log(y) (``shift=0``) or x * log1p(y) (``shift=1``), 0 where x == 0 unless y is NaN."""

    @staticmethod
    def forward(ctx, x, y, shift):
        ctx.shift = shift
        ctx.save_for_backward(x, y)
        name = "xlog1py" if shift else "xlogy"
        return _special.call(name, x, y, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        shift = ctx.shift
        fn = xlog1py if shift else xlogy
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = fn(g, y).masked_fill((x == 0) & (y <= -shift), 0.0)
        if ctx.needs_input_grad[1]:
            gy = g * x / (y + shift) if shift else g * x / y
        return gx, gy, None


def xlogy(input, other, *, out=None):
    """input * log(other), with 0 where input is 0 (unless other is NaN)."""
    x, y = _float_pair("xlogy", input, other)
    return _into(_XLogY.apply(x, y, 0), out)


def xlog1py(input, other, *, out=None):
    """input * log1p(other), with 0 where input is 0 (unless other is NaN)."""
    x, y = _float_pair("xlog1py", input, other)
    return _into(_XLogY.apply(x, y, 1), out)


class Zeta(ArrayFunction):
    """The Hurwitz zeta function; differentiable in q only, as in PyTorch."""

    @staticmethod
    def forward(ctx, x, q):
        ctx.save_for_backward(x, q)
        return _special.call("zeta", x, q, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        x, q = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'zeta' is not implemented.")
        return None, -g * x * zeta(x + 1, q)


def zeta(input, other, *, out=None):
    """Hurwitz zeta(x, q) = sum over k >= 0 of (k + q) ** -x."""
    x, q = _float_pair("zeta", input, other)
    return _into(Zeta.apply(x, q), out)


class _RegularizedGamma(ArrayFunction):
    """P(a, x) (``upper=False``) or Q(a, x) (``upper=True``); differentiable in x only."""

    @staticmethod
    def forward(ctx, a, x, upper):
        ctx.upper = upper
        ctx.save_for_backward(a, x)
        return _special.call("gammaincc" if upper else "gammainc", a, x, dtype=a.dtype)

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved_tensors
        name = "igammac" if ctx.upper else "igamma"
        if ctx.needs_input_grad[0]:
            raise NotImplementedError(f"the derivative for '{name}: input' is not implemented.")
        density = ((a - 1) * x.log() - x - lgamma(a)).exp()
        return None, (-g if ctx.upper else g) * density, None


def gammainc(input, other, *, out=None):
    """The regularized lower incomplete gamma function P(a, x)."""
    a, x = _float_pair("gammainc", input, other)
    return _into(_RegularizedGamma.apply(a, x, False), out)


def gammaincc(input, other, *, out=None):
    """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x)."""
    a, x = _float_pair("gammaincc", input, other)
    return _into(_RegularizedGamma.apply(a, x, True), out)


igamma, igammac = gammainc, gammaincc


class Sinc(ArrayFunction):
    """sin(pi x) / (pi x), 1 at 0."""

    @staticmethod
    def forward(ctx, x):
        x = float_np(x)
        y = np.sinc(x)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        xs = _safe_nonzero(x)
        # near 0, sinc'(x) = -pi^2 x / 3: the same 0 there, and the right second derivative
        return g * where(x == 0, (-(math.pi**2) / 3) * x, ((math.pi * x).cos() - y) / xs)


def sinc(input, *, out=None):
    """The normalized sinc function sin(pi x) / (pi x)."""
    _check_tensor("sinc", input)
    return _into(Sinc.apply(input), out)
