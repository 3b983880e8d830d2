"""Complex tensors: building them (``complex``, ``polar``), taking them apart (``real``,
``imag``, ``view_as_real``, ``view_as_complex``, ``angle``) and conjugation.

Gradients follow PyTorch's convention for a real loss L of z = x + iy: ``z.grad`` is
dL/dx + i dL/dy, so a holomorphic f passes back ``grad * conj(f'(z))``, and a real input
that meets a complex gradient keeps its real part.

``conj`` makes a conjugated copy: ember has no lazy conjugate bit, so ``is_conj()`` is
always False and ``resolve_conj`` returns its input (see docs/compat.md).
"""

import builtins

import numpy as np

from ember import _dtype
from ember._tensor import Tensor, wrap
from ember.autograd.function import ArrayFunction, ViewFunction
from ember.autograd.inplace import inplace

__all__ = [
    "real", "imag", "view_as_real", "view_as_complex", "conj", "conj_physical", "resolve_conj",
    "resolve_neg", "is_conj", "angle", "complex", "polar", "isreal", "view_as_real_copy",
    "view_as_complex_copy", "conj_physical_",
]  # fmt: skip


_COMPLEX_NUMBERS = (builtins.complex, np.complexfloating)


def conj_of(x):
    """The conjugate of a tensor or Python number; real values come back unchanged."""
    if isinstance(x, Tensor):
        return conj(x) if x._data.dtype.kind == "c" else x
    if isinstance(x, _COMPLEX_NUMBERS):
        return x.conjugate()
    return x


def grad_for(g, x):
    """The gradient ``g`` as it reaches input ``x``: its real part when ``x`` is a real
    tensor and ``g`` complex (a real input moves only along the real axis)."""
    if g is None or not isinstance(x, Tensor) or g._data.dtype.kind != "c":
        return g
    return g if x._data.dtype.kind == "c" else real(g)


complex64, complex128 = _dtype.complex64, _dtype.complex128


def _complex_dtype_name(dt):
    return {np.complex64: "ComplexFloat", np.complex128: "ComplexDouble"}.get(dt.type, str(dt))


class Real(ViewFunction):
    @staticmethod
    def forward(ctx, z):
        return z.real

    @staticmethod
    def backward(ctx, g):
        return complex(g, g.new_zeros(()).expand(g.shape))


class Imag(ViewFunction):
    @staticmethod
    def forward(ctx, z):
        return z.imag

    @staticmethod
    def backward(ctx, g):
        return complex(g.new_zeros(()).expand(g.shape), g)


def real(input):
    """The real parts of a complex tensor as a view that writes through; a real tensor
    itself."""
    return Real.apply(input) if input._data.dtype.kind == "c" else input


def imag(input):
    """The imaginary parts of a complex tensor as a view that writes through."""
    if input._data.dtype.kind != "c":
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return Imag.apply(input)


def _set_part(self, value, part):
    target = part(self)
    target.copy_(value if isinstance(value, Tensor) else wrap(np.asarray(value)))


def set_real(self, value):
    """``z.real = value``: copies ``value`` into the real parts."""
    _set_part(self, value, real)


def set_imag(self, value):
    """``z.imag = value``: copies ``value`` into the imaginary parts."""
    _set_part(self, value, imag)


def _pairs_view(z):
    """A complex array's memory seen as (..., 2) real pairs (any strides)."""
    real_part = z.real
    shape = z.shape + (2,)
    strides = z.strides + (real_part.itemsize,)
    return np.lib.stride_tricks.as_strided(real_part, shape, strides, writeable=True)


class ViewAsReal(ViewFunction):
    @staticmethod
    def forward(ctx, z):
        return _pairs_view(z)

    @staticmethod
    def backward(ctx, g):
        return view_as_complex(g.contiguous())


class ViewAsComplex(ViewFunction):
    @staticmethod
    def forward(ctx, x):
        complex_type = np.complex64 if x.dtype == np.float32 else np.complex128
        if x.ndim == 1:
            return x.view(complex_type).reshape(())
        return x.view(complex_type)[..., 0]

    @staticmethod
    def backward(ctx, g):
        return view_as_real(g)


def view_as_real(input):
    """A complex tensor's memory as a real tensor with a last dimension of 2 (real, imag)."""
    if input._data.dtype.kind != "c":
        raise RuntimeError("view_as_real is only supported for complex tensors")
    return ViewAsReal.apply(input)


def view_as_complex(input):
    """A real tensor whose last dimension holds (real, imag) pairs, viewed as complex."""
    x = input._data
    if x.dtype not in (np.float32, np.float64):
        raise RuntimeError(
            "view_as_complex is only supported for float and double tensors, but got a tensor "
            f"of scalar type: {input.dtype.name.capitalize()}"
        )
    if x.ndim == 0 or x.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    if x.strides[-1] != x.itemsize:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(s % (2 * x.itemsize) for s, n in zip(x.strides[:-1], x.shape[:-1]) if n > 1):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    return ViewAsComplex.apply(input)


def view_as_real_copy(input):
    """``view_as_real`` into new memory."""
    return view_as_real(input).clone()


def view_as_complex_copy(input):
    """``view_as_complex`` into new memory."""
    return view_as_complex(input).clone()


class Conj(ArrayFunction):
    @staticmethod
    def forward(ctx, z):
        return np.conj(z)

    @staticmethod
    def backward(ctx, g):
        return conj(g)


def conj(input):
    """The complex conjugate (a copy in ember; a real tensor is returned as is)."""
    return Conj.apply(input) if input._data.dtype.kind == "c" else input


def conj_physical(input):
    """The complex conjugate, computed (a real tensor is returned as is)."""
    return conj(input)


def conj_physical_(input):
    """Conjugate ``input`` in place."""
    return inplace(input, conj)


def resolve_conj(input):
    """``input`` with a lazy conjugation applied: ember conjugates eagerly, so ``input``."""
    return input


def resolve_neg(input):
    """``input`` with a lazy negation applied: ember negates eagerly, so ``input``."""
    return input


def is_conj(input):
    """Whether ``input`` carries a lazy conjugation: never in ember (``conj`` copies)."""
    return False


def isreal(input):
    """True where an element has no imaginary part (everywhere for real tensors)."""
    x = input._data
    return wrap(x.imag == 0 if x.dtype.kind == "c" else np.ones(x.shape, bool))


class Angle(ArrayFunction):
    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        if z.dtype.kind == "c":
            return np.angle(z)
        if z.dtype.kind in "iub":
            z = z.astype(_dtype.get_default_dtype().np)
        # 0 for x >= 0, pi for x < 0, NaN kept: the angle of a real number
        return np.where(z < 0, np.pi, np.where(np.isnan(z), z, 0)).astype(z.dtype)

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        if z._data.dtype.kind != "c":
            return g * 0
        # d angle: (-y dx + x dy) / |z|^2, i.e. grad * i z / |z|^2 (0 at z = 0)
        denom = z.real * z.real + z.imag * z.imag
        safe = denom.where(denom != 0, 1.0)
        return (g / safe) * z * 1j * (denom != 0)


def angle(input):
    """The argument of each complex element (for real tensors: 0, or pi where negative)."""
    return Angle.apply(input)


class Complex(ArrayFunction):
    @staticmethod
    def forward(ctx, re, im):
        out = np.empty(np.broadcast_shapes(re.shape, im.shape), _complex_of(re.dtype))
        out.real, out.imag = re, im
        return out

    @staticmethod
    def backward(ctx, g):
        return real(g), imag(g)


def _complex_of(real_dtype):
    return np.complex64 if real_dtype == np.float32 else np.complex128


def complex(real, imag, *, out=None):
    """``real + i * imag`` from two float tensors of one dtype (broadcast together)."""
    for t in (real, imag):
        if not isinstance(t, Tensor):
            raise TypeError(f"complex(): argument must be Tensor, not {type(t).__name__}")
    a, b = real._data.dtype, imag._data.dtype
    if a not in (np.float32, np.float64) or b not in (np.float32, np.float64):
        raise RuntimeError(
            "Expected both inputs to be Half, Float or Double tensors but got "
            f"{real.dtype.name.capitalize()} and {imag.dtype.name.capitalize()}"
        )
    if a != b:
        raise RuntimeError(
            f"Expected object of scalar type {real.dtype.name.capitalize()} but got scalar "
            f"type {imag.dtype.name.capitalize()} for second argument"
        )
    try:
        result = Complex.apply(real, imag)
    except ValueError:
        raise RuntimeError(
            f"complex(): the shapes of real {list(real.shape)} and imag {list(imag.shape)} "
            "cannot be broadcast together"
        ) from None
    if out is not None:
        out.copy_(result)
        return out
    return result


def polar(abs, angle, *, out=None):
    """The complex numbers ``abs * (cos(angle) + i sin(angle))``."""
    return complex(abs * angle.cos(), abs * angle.sin(), out=out)


def reject_complex(input, op, message=None, error=NotImplementedError):
    """PyTorch's error for an op that has no meaning on complex numbers (an ordering): by
    default its kernel-not-implemented error for ``op``, else ``error(message)``."""
    if isinstance(input, Tensor) and input._data.dtype.kind == "c":
        if message is None:
            message = f"\"{op}\" not implemented for '{_complex_dtype_name(input._data.dtype)}'"
        raise error(message)


def sgn_grad(z, s, g):
    """Gradient of sgn(z) = z / |z|: zero for real input; for complex, the part of ``g``
    along the unit circle's tangent i*s, divided by |z| (0 at z = 0)."""
    if z._data.dtype.kind != "c":
        return g * 0
    magnitude = z.abs()
    tangent = (conj(g) * s * 1j).real
    return (tangent * 1j * s / magnitude.where(magnitude != 0, 1.0)) * (magnitude != 0)
