"""Every Tensor method, in-place variant and operator, bound in one table.

The op files define plain functions; this module is the one place that attaches them to
``Tensor`` (``_tensor.py`` holds only data and autograd metadata). ``ember/__init__.py``
imports it once every op module is loaded. Each entry reads ``name: function``; the
function's first argument is the tensor the method is called on.
"""

import numpy as np

from ember._ops import (
    activation,
    arithmetic,
    comparison,
    construction,
    counting,
    creation,
    index,
    linalg,
    linalg_legacy,
    pointwise_extra,
    reduce,
    scatter_family,
    shape,
    special,
    spectral,
    splits_copies,
    statistics,
    tensor_queries,
    tensor_storage,
    unary,
    unfold,
)
from ember._ops import complex as complex_ops
from ember._tensor import Tensor, wrap
from ember.autograd.engine import backward, register_post_accumulate_grad_hook
from ember.autograd.inplace import inplace


def _setitem(self, key, value):
    index.setitem(self, key, value)


def _in_place(name, fn):
    """The method ``name`` (``add_``, ``scatter_``, ...): ``self = fn(self, ...)`` written
    into ``self``'s memory, recorded for autograd."""

    def method(self, *args, **kwargs):
        return inplace(self, fn, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    return method


def _in_place_binary(name, fn):
    """As ``_in_place``, for ops with a required second operand (``add_(other)``)."""

    def method(self, other, *args, **kwargs):
        return inplace(self, fn, other, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    return method


# -- operators -------------------------------------------------------------------------------

_OPERANDS = (Tensor, int, float, complex, np.number)


def _forward_op(fn):
    """``self <op> other`` as ``fn(self, other)``; NotImplemented for foreign operands."""

    def op(self, other):
        if isinstance(other, _OPERANDS):
            return fn(self, other)
        if isinstance(other, np.ndarray):
            return fn(self, wrap(other))
        return NotImplemented

    return op


def _reflected(fn):
    """``other <op> self`` (``__radd__`` and the like) as ``fn(other, self)``."""

    def op(self, other):
        if isinstance(other, _OPERANDS):
            return fn(other, self)
        if isinstance(other, np.ndarray):
            return fn(wrap(other), self)
        return NotImplemented

    return op


def _bool_or_bitwise(logical, bitwise):
    """``&``, ``|``, ``^``: logical on two bools, bitwise otherwise."""

    def op(a, b):
        a_bool = isinstance(a, bool) or (isinstance(a, Tensor) and a._data.dtype == np.bool_)
        b_bool = isinstance(b, bool) or (isinstance(b, Tensor) and b._data.dtype == np.bool_)
        return logical(a, b) if a_bool and b_bool else bitwise(a, b)

    return op


def _matmul_op(self, other):
    return linalg.matmul(self, other) if isinstance(other, Tensor) else NotImplemented


def _rmatmul_op(self, other):
    return linalg.matmul(other, self) if isinstance(other, Tensor) else NotImplemented


def _invert(self):
    if self._data.dtype == np.bool_:
        return comparison.logical_not(self)
    return arithmetic.bitwise_not(self)


def _backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """``Tensor.backward``: accumulate the gradient of ``self`` into the leaves' ``.grad``."""
    backward(self, gradient, retain_graph, create_graph, inputs=inputs)


_and = _forward_op(_bool_or_bitwise(comparison.logical_and, arithmetic.bitwise_and))
_or = _forward_op(_bool_or_bitwise(comparison.logical_or, arithmetic.bitwise_or))
_xor = _forward_op(_bool_or_bitwise(comparison.logical_xor, arithmetic.bitwise_xor))

OPERATORS = {
    "__add__": arithmetic.add_operator, "__radd__": _reflected(arithmetic.add),
    "__sub__": arithmetic.sub_operator, "__rsub__": _reflected(arithmetic.sub),
    "__mul__": arithmetic.mul_operator, "__rmul__": _reflected(arithmetic.mul),
    "__truediv__": arithmetic.div_operator, "__rtruediv__": _reflected(arithmetic.div),
    "__floordiv__": _forward_op(arithmetic.floor_divide),
    "__rfloordiv__": _reflected(arithmetic.floor_divide),
    "__mod__": _forward_op(arithmetic.remainder), "__rmod__": _reflected(arithmetic.remainder),
    "__pow__": _forward_op(arithmetic.pow), "__rpow__": _reflected(arithmetic.pow),
    "__matmul__": _matmul_op, "__rmatmul__": _rmatmul_op,
    "__and__": _and, "__rand__": _and, "__or__": _or, "__ror__": _or,
    "__xor__": _xor, "__rxor__": _xor,
    "__lshift__": _forward_op(arithmetic.bitwise_left_shift),
    "__rshift__": _forward_op(arithmetic.bitwise_right_shift),
    "__eq__": lambda self, other: comparison.eq(self, other),
    "__ne__": lambda self, other: comparison.ne(self, other),
    "__lt__": _forward_op(comparison.lt), "__le__": _forward_op(comparison.le),
    "__gt__": _forward_op(comparison.gt), "__ge__": _forward_op(comparison.ge),
    "__neg__": lambda self: unary.neg(self),
    "__pos__": lambda self: self,
    "__abs__": lambda self: unary.abs(self),
    "__invert__": _invert,
    "__iadd__": lambda self, other: self.add_(other),
    "__isub__": lambda self, other: self.sub_(other),
    "__imul__": lambda self, other: self.mul_(other),
    "__itruediv__": lambda self, other: self.div_(other),
    "__ifloordiv__": lambda self, other: self.floor_divide_(other),
    "__imod__": lambda self, other: self.remainder_(other),
    "__ipow__": lambda self, other: self.pow_(other),
    "__iand__": lambda self, other: inplace(self, _and, other),
    "__ior__": lambda self, other: inplace(self, _or, other),
    "__ixor__": lambda self, other: inplace(self, _xor, other),
    "__getitem__": index.getitem,
    "__setitem__": _setitem,
}  # fmt: skip

# -- methods: name -> function ---------------------------------------------------------------

ARITHMETIC = {
    "add": arithmetic.add, "sub": arithmetic.sub, "subtract": arithmetic.sub,
    "mul": arithmetic.mul, "multiply": arithmetic.mul, "div": arithmetic.div,
    "divide": arithmetic.div, "true_divide": arithmetic.div, "pow": arithmetic.pow,
    "atan2": arithmetic.atan2, "arctan2": arithmetic.atan2, "maximum": arithmetic.maximum,
    "minimum": arithmetic.minimum, "floor_divide": arithmetic.floor_divide,
    "remainder": arithmetic.remainder, "fmod": arithmetic.fmod,
    "bitwise_and": arithmetic.bitwise_and, "bitwise_or": arithmetic.bitwise_or,
    "bitwise_xor": arithmetic.bitwise_xor, "bitwise_left_shift": arithmetic.bitwise_left_shift,
    "bitwise_right_shift": arithmetic.bitwise_right_shift, "bitwise_not": arithmetic.bitwise_not,
    "clamp": arithmetic.clamp, "clip": arithmetic.clamp, "clamp_min": arithmetic.clamp_min,
    "clamp_max": arithmetic.clamp_max, "lerp": arithmetic.lerp, "addcmul": arithmetic.addcmul,
    "addcdiv": arithmetic.addcdiv, "float_power": arithmetic.float_power,
    "hypot": arithmetic.hypot, "xlogy": special.xlogy, "nan_to_num": arithmetic.nan_to_num,
    "positive": arithmetic.positive,
}  # fmt: skip

UNARY = {
    name: getattr(unary, name)
    for name in (
        "neg", "negative", "abs", "absolute", "exp", "exp2", "expm1", "log", "log2", "log10",
        "log1p", "sqrt", "rsqrt", "square", "reciprocal", "sin", "cos", "tan", "asin", "arcsin",
        "acos", "arccos", "atan", "arctan", "sinh", "cosh", "tanh", "asinh", "arcsinh", "acosh",
        "arccosh", "atanh", "arctanh", "sigmoid", "logit", "erf", "erfc", "erfinv", "floor",
        "ceil", "trunc", "fix", "sign", "frac", "sgn", "round",
    )
}  # fmt: skip

# The in-place forms of the unary ops are ops of their own (``ember.exp_`` exists too).
UNARY_IN_PLACE = {
    name + "_": getattr(unary, name + "_")
    for name in (
        "neg", "abs", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt",
        "square", "reciprocal", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh",
        "tanh", "asinh", "acosh", "atanh", "sigmoid", "logit", "erf", "erfc", "erfinv", "floor",
        "ceil", "trunc", "sign", "frac", "sgn", "round",
    )
}  # fmt: skip

COMPARISON = {
    "eq": comparison.eq, "ne": comparison.ne, "not_equal": comparison.ne,
    "lt": comparison.lt, "less": comparison.lt, "le": comparison.le,
    "less_equal": comparison.le, "gt": comparison.gt, "greater": comparison.gt,
    "ge": comparison.ge, "greater_equal": comparison.ge,
    "logical_and": comparison.logical_and, "logical_or": comparison.logical_or,
    "logical_xor": comparison.logical_xor, "logical_not": comparison.logical_not,
    "isnan": comparison.isnan, "isinf": comparison.isinf, "isfinite": comparison.isfinite,
    "isposinf": comparison.isposinf, "isneginf": comparison.isneginf,
    "signbit": comparison.signbit, "allclose": comparison.allclose,
    "isclose": comparison.isclose, "equal": comparison.equal, "where": comparison.where_method,
}  # fmt: skip

REDUCE = {
    name: getattr(reduce, name)
    for name in (
        "sum", "mean", "nansum", "nanmean", "prod", "max", "min", "amax", "amin", "aminmax",
        "argmax", "argmin", "std", "var", "logsumexp", "cumsum", "cumprod", "cummax", "cummin",
        "all", "any", "count_nonzero", "median", "nanmedian", "mode", "norm", "logcumsumexp",
        "diff", "trace", "var_mean", "std_mean", "cumsum_",
    )
}  # fmt: skip

SHAPE = {
    name: getattr(shape, name)
    for name in (
        "view", "reshape", "view_as", "reshape_as", "flatten", "unflatten", "squeeze",
        "unsqueeze", "permute", "transpose", "swapaxes", "swapdims", "t", "movedim", "expand",
        "expand_as", "broadcast_to", "clone", "contiguous", "narrow", "select", "tensor_split",
        "chunk", "unbind", "flip", "fliplr", "flipud", "roll", "rot90", "tril", "triu",
        "diagonal", "diag", "repeat", "tile", "repeat_interleave", "ravel", "squeeze_",
        "unsqueeze_", "t_", "transpose_",
    )
}  # fmt: skip
SHAPE.update(moveaxis=shape.movedim, split=shape.split_method)

INDEX = {
    name: getattr(index, name)
    for name in (
        "gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add",
        "index_fill", "index_copy", "masked_fill", "masked_select", "masked_scatter",
        "take_along_dim", "take", "nonzero", "argwhere", "sort", "argsort", "msort", "topk",
        "unique", "unique_consecutive", "kthvalue",
    )
}  # fmt: skip

INDEX.update(bincount=counting.bincount)


def _polygamma(self, n):
    """``x.polygamma(n)`` is ``polygamma(n, x)``: the order comes first in the function."""
    return special.polygamma(n, self)


def _to_dense(self, dtype=None, *, masked_grad=None):
    """Every ember tensor is already dense (strided): itself, or a copy when ``dtype`` differs."""
    return self if dtype is None else self.to(dtype)


SHAPE["to_dense"] = _to_dense
SHAPE["unfold"] = unfold.unfold

SPECIAL = {
    "lgamma": special.lgamma, "digamma": special.digamma, "polygamma": _polygamma,
    "mvlgamma": special.mvlgamma, "i0": special.i0, "sinc": special.sinc,
    "igamma": special.igamma, "igammac": special.igammac,
}  # fmt: skip

LINALG = {
    name: getattr(linalg, name)
    for name in (
        "matmul", "mm", "bmm", "mv", "dot", "vdot", "inner", "outer", "ger", "addmm", "addmv",
        "baddbmm", "addbmm", "kron", "cross", "det", "inverse", "logdet", "slogdet",
        "matrix_power",
    )
}  # fmt: skip
LINALG.update(
    {
        name: getattr(linalg_legacy, name)
        for name in (
            "cholesky", "cholesky_inverse", "cholesky_solve", "geqrf", "lu_solve", "matrix_exp",
            "orgqr", "ormqr", "pinverse", "qr", "svd", "triangular_solve",
        )
    }
)  # fmt: skip
LINALG["lu"] = linalg_legacy.lu

ACTIVATION = {
    "relu": activation.relu, "relu_": activation.relu_, "softmax": activation.softmax,
    "log_softmax": activation.log_softmax,
}  # fmt: skip

CREATION = {
    name: getattr(creation, name)
    for name in (
        "zero_", "fill_", "uniform_", "normal_", "bernoulli_", "random_", "exponential_",
        "geometric_", "log_normal_", "cauchy_", "copy_", "to", "type_as", "bernoulli",
        "multinomial", "cpu", "cuda", "pin_memory", "share_memory_", "is_pinned", "is_shared",
        "new_zeros", "new_ones", "new_empty", "new_full", "new_tensor", "new",
    )
}  # fmt: skip
CREATION["type"] = creation.tensor_type
CREATION.update(
    {name: creation.dtype_conversion(name, dt) for name, dt in creation.DTYPE_CONVERSIONS.items()}
)

STORAGE = {
    name: getattr(tensor_storage, name)
    for name in ("untyped_storage", "storage", "storage_offset", "set_")
}

AUTOGRAD = {
    "backward": _backward,
    "register_post_accumulate_grad_hook": register_post_accumulate_grad_hook,
}

# -- in-place methods: name -> the op they apply to self -------------------------------------

IN_PLACE_BINARY = {
    "add_": arithmetic.add, "sub_": arithmetic.sub, "subtract_": arithmetic.sub,
    "mul_": arithmetic.mul, "multiply_": arithmetic.mul, "div_": arithmetic.div,
    "divide_": arithmetic.div, "true_divide_": arithmetic.div, "pow_": arithmetic.pow,
    "remainder_": arithmetic.remainder, "fmod_": arithmetic.fmod,
    "floor_divide_": arithmetic.floor_divide, "atan2_": arithmetic.atan2,
    "maximum_": arithmetic.maximum, "minimum_": arithmetic.minimum, "lerp_": arithmetic.lerp,
    "addcmul_": arithmetic.addcmul, "addcdiv_": arithmetic.addcdiv,
    "bitwise_and_": arithmetic.bitwise_and, "bitwise_or_": arithmetic.bitwise_or,
    "bitwise_xor_": arithmetic.bitwise_xor, "hypot_": arithmetic.hypot,
    "xlogy_": special.xlogy, "clamp_min_": arithmetic.clamp_min,
    "clamp_max_": arithmetic.clamp_max, "eq_": comparison.eq, "ne_": comparison.ne,
    "lt_": comparison.lt, "le_": comparison.le, "gt_": comparison.gt, "ge_": comparison.ge,
    "logical_and_": comparison.logical_and, "logical_or_": comparison.logical_or,
}  # fmt: skip

IN_PLACE = {
    "nan_to_num_": arithmetic.nan_to_num, "scatter_": index.scatter,
    "scatter_add_": index.scatter_add, "scatter_reduce_": index.scatter_reduce,
    "index_add_": index.index_add, "index_fill_": index.index_fill,
    "index_copy_": index.index_copy, "masked_fill_": index.masked_fill,
    "masked_scatter_": index.masked_scatter,
}  # fmt: skip


IN_PLACE.update(
    {
        name + "_": SPECIAL[name]
        for name in ("lgamma", "digamma", "polygamma", "mvlgamma", "i0", "sinc")
    }
)
IN_PLACE_BINARY.update(igamma_=special.igamma, igammac_=special.igammac)


def _clamp_(self, min=None, max=None):
    return inplace(self, lambda t: arithmetic.clamp(t, min, max))


def _logical_not_(self):
    return inplace(self, comparison.logical_not)


def _bind():
    for table in (ARITHMETIC, UNARY, UNARY_IN_PLACE, COMPARISON, REDUCE, SHAPE, INDEX, SPECIAL,
                  LINALG, ACTIVATION, CREATION, STORAGE, AUTOGRAD, OPERATORS):  # fmt: skip
        for name, fn in table.items():
            setattr(Tensor, name, fn)
    for family in (pointwise_extra, statistics, construction, tensor_queries, splits_copies,
                   scatter_family):  # fmt: skip
        for name, fn in family.METHODS.items():
            setattr(Tensor, name, fn)
    for name, fn in (IN_PLACE_BINARY | pointwise_extra.IN_PLACE_BINARY_METHODS).items():
        setattr(Tensor, name, _in_place_binary(name, fn))
    for name, fn in IN_PLACE.items():
        setattr(Tensor, name, _in_place(name, fn))
    for name in ("conj", "conj_physical", "conj_physical_", "resolve_conj", "resolve_neg",
                 "is_conj", "angle", "isreal"):  # fmt: skip
        setattr(Tensor, name, getattr(complex_ops, name))
    Tensor.cfloat = lambda self, memory_format=None: self.to(complex_ops.complex64)
    Tensor.cdouble = lambda self, memory_format=None: self.to(complex_ops.complex128)
    Tensor.stft, Tensor.istft = spectral.stft, spectral.istft
    Tensor.real = property(complex_ops.real, complex_ops.set_real)
    Tensor.imag = property(complex_ops.imag, complex_ops.set_imag)
    Tensor.clamp_ = Tensor.clip_ = _clamp_
    Tensor.logical_not_ = _logical_not_
    # Properties: the transposes; H and mH also conjugate.
    Tensor.T = property(shape.reversed_dims)
    Tensor.mT = property(shape.last_two_dims_swapped)
    Tensor.H = property(lambda t: complex_ops.conj(shape.reversed_dims(t)))
    Tensor.mH = property(lambda t: complex_ops.conj(shape.last_two_dims_swapped(t)))


_bind()
