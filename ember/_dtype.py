"""ember.dtype objects and PyTorch's type-promotion rules.

PyTorch promotes by category (bool < integer < floating) and by the kind of operand: tensors
with dimensions decide the dtype within a category; a 0-d tensor only wins when its category is
higher; a Python number only decides the category (an int64 tensor times 2.5 is float32, the
default dtype), never widens a tensor of the same category.
"""

import builtins

import ml_dtypes
import numpy as np

__all__ = [
    "dtype", "float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
    "uint8", "bool", "half", "float", "double", "short", "int", "long", "complex64",
    "complex128", "cfloat", "cdouble",
    "qint8", "quint8", "qint32", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz",
    "float8_e5m2fnuz", "get_default_dtype", "set_default_dtype", "finfo", "iinfo", "promote_types",
]  # fmt: skip

_BOOL, _INT, _FLOAT, _COMPLEX, _QUANTIZED = 0, 1, 2, 3, 4

# The package name reprs print (``ember.float32``, ``ember.Size([2])``): "torch" while
# ``ember run`` makes ``import torch`` give ember (set by ``_torch_alias.install``), so a
# PyTorch program prints what it prints under PyTorch.
repr_package = "ember"


class dtype:
    """A tensor element type, mirroring ``torch.dtype``."""

    __slots__ = ("name", "np", "category", "itemsize")

    def __init__(self, name, np_dtype, category):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.category = category
        self.itemsize = self.np.itemsize

    @property
    def is_floating_point(self):
        return self.category == _FLOAT

    @property
    def is_complex(self):
        return self.category == _COMPLEX

    @property
    def is_signed(self):
        return self.name not in ("uint8", "bool", "quint8")

    @property
    def is_quantized(self):
        return self.category == _QUANTIZED

    def to_real(self):
        """The real dtype of a complex dtype's parts (complex64 -> float32); others unchanged."""
        return _COMPLEX_TO_REAL.get(self, self)

    def to_complex(self):
        """The complex dtype with this dtype's parts (float64 -> complex128)."""
        if self.category == _COMPLEX:
            return self
        if self.category != _FLOAT:
            raise RuntimeError(
                f"to_complex is only supported for floating point dtypes, got {self}"
            )
        return complex128 if self is float64 else complex64

    def __repr__(self):
        return f"{repr_package}.{self.name}"

    def __reduce__(self):
        return self.name

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


float16 = half = dtype("float16", np.float16, _FLOAT)
bfloat16 = dtype("bfloat16", ml_dtypes.bfloat16, _FLOAT)
float32 = float = dtype("float32", np.float32, _FLOAT)
float64 = double = dtype("float64", np.float64, _FLOAT)
int8 = dtype("int8", np.int8, _INT)
int16 = short = dtype("int16", np.int16, _INT)
int32 = int = dtype("int32", np.int32, _INT)
int64 = long = dtype("int64", np.int64, _INT)
uint8 = dtype("uint8", np.uint8, _INT)
bool = dtype("bool", np.bool_, _BOOL)
complex64 = cfloat = dtype("complex64", np.complex64, _COMPLEX)
complex128 = cdouble = dtype("complex128", np.complex128, _COMPLEX)
# 8-bit floats, for storing weights and casting (PyTorch has almost no arithmetic on them).
float8_e4m3fn = dtype("float8_e4m3fn", ml_dtypes.float8_e4m3fn, _FLOAT)
float8_e5m2 = dtype("float8_e5m2", ml_dtypes.float8_e5m2, _FLOAT)
float8_e4m3fnuz = dtype("float8_e4m3fnuz", ml_dtypes.float8_e4m3fnuz, _FLOAT)
float8_e5m2fnuz = dtype("float8_e5m2fnuz", ml_dtypes.float8_e5m2fnuz, _FLOAT)
# Quantized element types: integers read through a scale and zero point (see ember.ao).
qint8 = dtype("qint8", np.int8, _QUANTIZED)
quint8 = dtype("quint8", np.uint8, _QUANTIZED)
qint32 = dtype("qint32", np.int32, _QUANTIZED)

ALL = (float16, bfloat16, float32, float64, int8, int16, int32, int64, uint8, bool, complex64,
       complex128, float8_e4m3fn, float8_e5m2, float8_e4m3fnuz, float8_e5m2fnuz)  # fmt: skip
_FROM_NP = {d.np: d for d in ALL}
_FROM_NAME = {d.name: d for d in ALL}
_FROM_NAME.update(half=float16, float=float32, double=float64, short=int16, int=int32, long=int64,
                  cfloat=complex64, cdouble=complex128)  # fmt: skip
_COMPLEX_TO_REAL = {complex64: float32, complex128: float64}

_default = [float32]


def from_np(np_dtype):
    """The ember dtype of a NumPy dtype."""
    try:
        return _FROM_NP[np_dtype]
    except KeyError:
        d = _FROM_NP.get(np.dtype(np_dtype))
        if d is None:
            raise TypeError(f"ember has no dtype for NumPy dtype {np.dtype(np_dtype)}") from None
        return d


def to_dtype(d):
    """Accept an ember dtype, a NumPy dtype, a Python type or a name and return an ember dtype."""
    if d.__class__ is dtype:
        return d
    if d is None:
        return _default[0]
    if isinstance(d, str):
        name = d.removeprefix("torch.").removeprefix("ember.")
        if name in _FROM_NAME:
            return _FROM_NAME[name]
        raise TypeError(f"unknown dtype name {d!r}")
    if d is builtins.float:  # as PyTorch: the Python type float names float64
        return float64
    if d is builtins.int:
        return int64
    if d is builtins.bool:
        return bool
    if d is builtins.complex:
        return complex128
    return from_np(np.dtype(d))


def get_default_dtype():
    return _default[0]


def set_default_dtype(d):
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype only supports floating point dtypes, got {d}")
    _default[0] = d


def promote_types(a, b):
    """The smallest dtype both ``a`` and ``b`` convert to safely, as ``torch.promote_types``."""
    if a is b:
        return a
    if _COMPLEX in (a.category, b.category) and a.category != _QUANTIZED != b.category:
        widest = max(d.to_real().itemsize for d in (a, b) if d.category >= _FLOAT)
        return complex128 if widest >= 8 else complex64  # float64 + complex64 -> complex128
    if a.category != b.category:
        return a if a.category > b.category else b
    if {a, b} == {float16, bfloat16}:
        return float32
    if bfloat16 in (a, b):
        return b if a is bfloat16 else a
    return from_np(np.promote_types(a.np, b.np))


def category_default(category):
    if category == _COMPLEX:
        return _default[0].to_complex()
    return (bool, int64, _default[0])[category]


def scalar_category(x):
    if isinstance(x, builtins.bool | np.bool_):
        return _BOOL
    if isinstance(x, builtins.int | np.integer):
        return _INT
    if isinstance(x, builtins.float | np.floating):
        return _FLOAT
    if isinstance(x, complex | np.complexfloating):
        return _COMPLEX
    raise TypeError(f"expected a number, got {type(x).__name__}")


def _combine(higher, lower):
    """PyTorch's merge of two operand kinds, ``higher`` having precedence (tensors with
    dimensions over 0-d tensors over Python numbers): a lower kind only counts when its
    category is higher, and a complex operand of lower kind keeps a float tensor's width."""
    if higher is None:
        return lower
    if lower is None or higher.category == _COMPLEX:
        return higher
    if lower.category == _COMPLEX:
        return higher.to_complex() if higher.category == _FLOAT else lower
    if higher.category == _FLOAT:
        return higher
    if higher is bool or lower.category == _FLOAT:
        return promote_types(higher, lower)
    return higher


def result_type(*operands):
    """PyTorch's result dtype of an op over tensors and Python numbers."""
    dim_t = zero_t = None
    scalar_cat = -1
    for x in operands:
        d = getattr(x, "_data", None)
        if d is None:
            if x is not None:
                scalar_cat = max(scalar_cat, scalar_category(x))
            continue
        xd = from_np(d.dtype)
        if d.ndim:
            dim_t = xd if dim_t is None else promote_types(dim_t, xd)
        else:
            zero_t = xd if zero_t is None else promote_types(zero_t, xd)
    wrapped = category_default(scalar_cat) if scalar_cat >= 0 else None
    return _combine(dim_t, _combine(zero_t, wrapped))


class finfo:
    """Machine limits of a floating dtype, as ``torch.finfo``."""

    def __init__(self, type=None):
        type = to_dtype(type).to_real()  # a complex dtype's limits are its parts' (float32)
        if not type.is_floating_point:
            raise TypeError(f"finfo expects a floating point dtype, got {type}")
        ml = type is bfloat16 or type.name.startswith("float8")
        info = ml_dtypes.finfo(type.np) if ml else np.finfo(type.np)
        self.dtype = type.name
        self.bits = type.itemsize * 8
        self.eps = builtins.float(info.eps)
        self.max = builtins.float(info.max)
        self.min = builtins.float(info.min)
        self.tiny = self.smallest_normal = builtins.float(info.tiny)
        # 10 ** -(decimal digits of precision), as PyTorch computes it for every float dtype
        self.resolution = 10.0 ** -builtins.int(-np.log10(self.eps))

    def __repr__(self):
        return (
            f"finfo(resolution={self.resolution}, min={self.min:g}, max={self.max:g}, "
            f"eps={self.eps:g}, smallest_normal={self.tiny:g}, tiny={self.tiny:g}, "
            f"dtype={self.dtype})"
        )


class iinfo:
    """Limits of an integer dtype, as ``torch.iinfo``."""

    def __init__(self, type):
        type = to_dtype(type)
        if type.category != _INT:
            raise TypeError(f"iinfo expects an integer dtype, got {type}")
        info = np.iinfo(type.np)
        self.dtype = type.name
        self.bits = info.bits
        self.max = builtins.int(info.max)
        self.min = builtins.int(info.min)

    def __repr__(self):
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
