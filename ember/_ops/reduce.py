"""Reductions over dims (int, tuple or all) with keepdim, and cumulative ops."""

import builtins
import math

import numpy as np

from ember import _dtype
from ember._ops._numpy_kwargs import numpy_kwargs
from ember._ops._promotion import maybe_out, torch_type_name
from ember._ops._return_types import return_type
from ember._ops._util import norm_dim, norm_dims, np_dtype
from ember._ops.arithmetic import maximum, minimum
from ember._ops.complex import conj_of, reject_complex
from ember._ops.linalg import matrix_norm, vector_norm
from ember._ops.shape import cat, stack
from ember._tensor import Tensor, wrap
from ember.autograd.function import ArrayFunction, untracked
from ember.autograd.grad_mode import GRAD_ENABLED
from ember.autograd.inplace import inplace
from ember.backends.numpy import scan
from ember.backends.numpy.fast_sum import fast_sum
from ember.backends.numpy.threads import along_axis, reduction
from ember.backends.onednn import reduction as onednn_reduction

__all__ = [
    "sum", "mean", "nansum", "nanmean", "prod", "max", "min", "amax", "amin", "aminmax",
    "argmax", "argmin", "std", "var", "std_mean", "var_mean", "logsumexp", "cumsum", "cumprod",
    "cummax", "cummin", "all", "any", "count_nonzero", "median", "nanmedian", "mode", "norm",
    "logcumsumexp", "diff", "trace",
]  # fmt: skip

minmax_result = return_type("aminmax", ["min", "max"])


def _expand_back(g, shape, dims, keepdim):
    """Reshape a reduced gradient so that it broadcasts against the input shape."""
    if not keepdim and dims:
        g = g.reshape(tuple(1 if i in dims else s for i, s in enumerate(shape)))
    return g


def _dims(input, dim, op):
    """Reduced axes as a tuple. A 0-d tensor accepts dim 0 or -1 (as PyTorch does) and
    reduces over no axis."""
    if dim is None or (isinstance(dim, tuple | list) and len(dim) == 0):
        return tuple(range(input._data.ndim))
    dims = norm_dims(dim, input._data.ndim, op)
    return dims if input._data.ndim else ()


def _scalar_values_indices(input, dim, op):
    """(values, indices) of a 0-d tensor reduced over its dim 0 or -1: itself and index 0."""
    norm_dim(dim, 0, op)
    return return_type(op, ["values", "indices"])(input.clone(), wrap(np.zeros((), np.int64)))


class Sum(ArrayFunction):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        return _sum_as(x, dims, keepdim, dtype)

    @staticmethod
    def backward(ctx, g):
        return _spread(ctx, g), None, None, None


class Mean(ArrayFunction):
    """The sum over ``dims`` divided by their ``n`` elements, as PyTorch computes a float32
    or float64 mean, in one node."""

    @staticmethod
    def forward(ctx, x, dims, keepdim, n):
        ctx.shape, ctx.dims, ctx.keepdim, ctx.n = x.shape, dims, keepdim, n
        return np.true_divide(_sum(x, dims, keepdim), n)

    @staticmethod
    def backward(ctx, g):
        return _spread(ctx, g / ctx.n), None, None, None


def _sum_as(x, dims, keepdim, dtype):
    """The sum over ``dims`` accumulated in ``dtype`` (None: x's own), as an array (NumPy
    gives a scalar for a sum over every dim)."""
    if dtype is None or dtype == x.dtype:
        return np.asarray(_sum(x, dims, keepdim))
    return np.asarray(np.sum(x, axis=dims, keepdims=keepdim, dtype=dtype))


def _sum(x, dims, keepdim):
    if x.__class__ is np.ndarray and x.size < onednn_reduction.MIN_ELEMENTS:
        # NumPy's reduction itself, always as an array: a scalar result would take the
        # autograd's slower way for outputs that are not arrays
        return np.asarray(np.add.reduce(x, axis=dims, keepdims=keepdim))
    fast = fast_sum(x, dims, keepdim)
    return reduction(np.sum, x, dims, keepdim) if fast is None else fast


def _spread(ctx, g):
    """The gradient ``g`` of a sum over ``ctx.dims``, repeated over the input's shape. Where
    it goes straight into a leaf's empty ``.grad`` (no graph of the backward recorded), which
    must then hold every element, oneDNN writes it out on every core; else it is a
    broadcast view."""
    if not GRAD_ENABLED[0] and _into_empty_grad(ctx) and _over_last_or_all(ctx):
        dense = onednn_reduction.spread(g._data, ctx.shape)
        if dense is not None:
            return wrap(dense)
    return _expand_back(g, ctx.shape, ctx.dims, ctx.keepdim).expand(ctx.shape)


def _into_empty_grad(ctx):
    """Whether the input is a leaf without a ``.grad`` (its graph edge: itself and -1)."""
    leaf, output_nr = ctx._edges[0][:2]
    return output_nr == -1 and leaf.grad is None


def _over_last_or_all(ctx):
    ndim = len(ctx.shape)
    return len(ctx.dims) == ndim or ctx.dims == (ndim - 1,)


def _needs_dim_for_out(op, dim, out):
    """PyTorch's overloads of ``op`` without ``dim`` take no ``out=``."""
    if out is not None and dim is None:
        raise TypeError(
            f"{op}() received an invalid combination of arguments - got (Tensor, out=Tensor): "
            f"out= needs dim="
        )


def _into_out(result_of, dtype, out):
    """``result_of(dtype)`` written into ``out``; without ``dtype``, the reduction runs in
    ``out``'s dtype, as PyTorch's reductions accumulate in the output's type."""
    if out is None:
        return result_of(dtype)
    return maybe_out(result_of(out.dtype if dtype is None else dtype), out)


def _same_dtype_out(op, input, out):
    if out is not None and out._data.dtype != input._data.dtype:
        raise RuntimeError(
            f"{op}(): Expected the dtype for input and out to match, but got "
            f"{torch_type_name(input.dtype)} for input's dtype and {torch_type_name(out.dtype)} "
            "for out's dtype."
        )


@numpy_kwargs
def sum(input, dim=None, keepdim=False, *, dtype=None, out=None):
    """Sum over ``dim`` (all dims by default); integers and bools sum to int64."""
    if out is not None:
        _needs_dim_for_out("sum", dim, out)
        return _into_out(lambda d: sum(input, dim, keepdim, dtype=d), dtype, out)
    dt = np_dtype(dtype)
    if dt is None and input._data.dtype.kind in "iub":
        dt = np.int64
    dims = _dims(input, dim, "sum")
    if untracked(input):  # (the op's result, without its node: a metric's count of hits)
        return wrap(_sum_as(input._data, dims, keepdim, dt))
    return Sum.apply(input, dims, keepdim, dt)


@numpy_kwargs
def nansum(input, dim=None, keepdim=False, *, dtype=None):
    return sum(input.where(~input.isnan(), 0.0), dim, keepdim, dtype=dtype)


def _require_float(input, op):
    if input._data.dtype.kind not in "fcV":
        raise RuntimeError(
            f"{op}(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {input.dtype.name.capitalize()}"
        )


@numpy_kwargs
def mean(input, dim=None, keepdim=False, *, dtype=None, out=None):
    if out is not None:
        return _into_out(lambda d: mean(input, dim, keepdim, dtype=d), dtype, out)
    if dtype is not None:
        input = input.to(dtype)
    _require_float(input, "mean")
    dims = _dims(input, dim, "mean")
    n = math.prod([input._data.shape[d] for d in dims])
    if n and input._data.dtype.char in "fd":  # float32, float64
        return Mean.apply(input, dims, keepdim, n)
    return Sum.apply(input, dims, keepdim, None) / (n if n else float("nan"))


@numpy_kwargs
def nanmean(input, dim=None, keepdim=False, *, dtype=None):
    keep = ~input.isnan()
    return nansum(input, dim, keepdim) / keep.sum(dim, keepdim)


class Prod(ArrayFunction):
    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        out = np.prod(x, axis=dims, keepdims=keepdim, dtype=dtype)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        g = _expand_back(g, ctx.shape, ctx.dims, ctx.keepdim)
        out = _expand_back(out, ctx.shape, ctx.dims, ctx.keepdim)
        if (x._data == 0).any():
            # Product of the other elements, exact even where x has zeros.
            others = _prod_of_others(x, ctx.dims)
            return g * conj_of(others), None, None, None
        return g * conj_of(out / x), None, None, None


def _prod_of_others(x, dims):
    moved = x.movedim(dims, tuple(range(-len(dims), 0))) if dims else x
    flat = moved.reshape(tuple(moved.shape[: moved.ndim - len(dims)]) + (-1,))
    ones = wrap(np.ones(flat.shape[:-1] + (1,), flat._data.dtype))
    left = cat_last([ones, flat[..., :-1]]).cumprod(-1)
    right = cat_last([flat[..., 1:], ones]).flip(-1).cumprod(-1).flip(-1)
    res = (left * right).reshape(moved.shape)
    return res.movedim(tuple(range(-len(dims), 0)), dims) if dims else res


def cat_last(ts):
    return cat(ts, -1)


@numpy_kwargs
def prod(input, dim=None, keepdim=False, *, dtype=None, out=None):
    if out is not None:
        _needs_dim_for_out("prod", dim, out)
        return _into_out(lambda d: prod(input, dim, keepdim, dtype=d), dtype, out)
    dt = np_dtype(dtype)
    if dt is None and input._data.dtype.kind in "iub":
        dt = np.int64
    dims = _dims(input, dim, "prod") if dim is not None else tuple(range(input._data.ndim))
    return Prod.apply(input, dims, keepdim, dt)


class AmaxAmin(ArrayFunction):
    """Max or min over dims; the gradient is shared evenly between tied elements."""

    @staticmethod
    def forward(ctx, x, dims, keepdim, is_max):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        if x.size == 0 and builtins.any(x.shape[d] == 0 for d in dims):
            raise IndexError(
                f"{'amax' if is_max else 'amin'}(): Expected reduction dim {dims[0]} to have "
                "non-zero size."
            )
        out = reduction(np.max if is_max else np.min, x, dims, keepdim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        out = _expand_back(out, ctx.shape, ctx.dims, ctx.keepdim)
        g = _expand_back(g, ctx.shape, ctx.dims, ctx.keepdim)
        mask = (x == out).to(g.dtype)
        count = mask.sum(ctx.dims, keepdim=True)
        return g * mask / count, None, None, None


def _require_dim_if_empty(input, dim, op):
    if input._data.size == 0 and (dim is None or dim == ()):
        raise RuntimeError(
            f"{op}(): Expected reduction dim to be specified for input.numel() == 0 (input of "
            f"shape {list(input.shape)}). Specify the reduction dim with the 'dim' argument."
        )


@numpy_kwargs
def amax(input, dim=(), keepdim=False, *, out=None):
    reject_complex(input, "max_all")
    _require_dim_if_empty(input, dim, "amax")
    _same_dtype_out("amax", input, out)
    return maybe_out(AmaxAmin.apply(input, _dims(input, dim, "amax"), keepdim, True), out)


@numpy_kwargs
def amin(input, dim=(), keepdim=False, *, out=None):
    reject_complex(input, "min_all")
    _require_dim_if_empty(input, dim, "amin")
    _same_dtype_out("amin", input, out)
    return maybe_out(AmaxAmin.apply(input, _dims(input, dim, "amin"), keepdim, False), out)


@numpy_kwargs
def aminmax(input, *, dim=None, keepdim=False):
    return minmax_result(amin(input, dim if dim is not None else (), keepdim),
                         amax(input, dim if dim is not None else (), keepdim))  # fmt: skip


def _arg(input, dim, keepdim, is_max, op):
    """argmax or argmin; NumPy's, like PyTorch's, give the index of the first NaN where
    there is one."""
    reject_complex(input, op, f"{op}(): does not support complex input", RuntimeError)
    x = input._data
    if dim is None:
        if x.size == 0:
            raise IndexError(
                f"{op}(): Expected reduction dim to be specified for input.numel() == 0 (input "
                f"of shape {list(x.shape)})."
            )
        flat = x.reshape(-1)
        r = np.asarray(np.argmax(flat) if is_max else np.argmin(flat), np.int64)
        return wrap(r.reshape((1,) * x.ndim) if keepdim else r)
    d = norm_dim(dim, x.ndim, op)
    if x.ndim == 0:
        return wrap(np.zeros((), np.int64))
    if x.shape[d] == 0:
        raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")
    r = (np.argmax if is_max else np.argmin)(x, axis=d, keepdims=keepdim)
    return wrap(np.asarray(r, dtype=np.int64))  # an array even when r is a NumPy scalar


@numpy_kwargs
def argmax(input, dim=None, keepdim=False):
    return _arg(input, dim, keepdim, True, "argmax")


@numpy_kwargs
def argmin(input, dim=None, keepdim=False):
    return _arg(input, dim, keepdim, False, "argmin")


def _max_min(input, dim, keepdim, other, is_max):
    if isinstance(dim, Tensor):
        other, dim = dim, None
    if other is not None:
        return maximum(input, other) if is_max else minimum(input, other)
    reject_complex(input, "max_all" if is_max else "min_all")
    if dim is None:
        if input._data.size == 0:
            raise RuntimeError(
                f"{'max' if is_max else 'min'}(): Expected reduction dim to be specified for "
                "input.numel() == 0. Specify the reduction dim with the 'dim' argument."
            )
        return AmaxAmin.apply(input, tuple(range(input._data.ndim)), False, is_max)
    op = "max" if is_max else "min"
    idx = _arg(input, dim, True, is_max, op)
    d = norm_dim(dim, input._data.ndim, op) if input._data.ndim else 0
    if input._data.ndim == 0:
        return return_type(op, ["values", "indices"])(input.clone(), idx)
    values = input.gather(d, idx)
    if not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return return_type(op, ["values", "indices"])(values, idx)


@numpy_kwargs
def max(input, dim=None, keepdim=False, *, other=None):
    """Largest value; with ``dim``, (values, indices); with a tensor, elementwise maximum."""
    return _max_min(input, dim, keepdim, other, True)


@numpy_kwargs
def min(input, dim=None, keepdim=False, *, other=None):
    return _max_min(input, dim, keepdim, other, False)


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    if unbiased is None:
        return 1
    return 1 if unbiased else 0


class Variance(ArrayFunction):
    """The variance of every element of a large float32 array, in two passes on oneDNN (the
    mean; the centered squares, summed a chunk at a time while in cache) instead of the
    composition's five; its gradient ``g * 2 / (n - correction) * (x - mean)`` in one."""

    @staticmethod
    def forward(ctx, x, correction):
        n = x.size
        mean = onednn_reduction.sum_all(x)
        if mean is not None:
            mean = np.float32(mean / np.float32(n))
            squares = onednn_reduction.centered_square_sum(x, mean)
        if mean is None or squares is None:
            mean = np.float32(_sum(x, tuple(range(x.ndim)), False) / np.float32(n))
            centered = x - mean
            squares = np.float32(_sum(centered * centered, tuple(range(x.ndim)), False))
        ctx.mean, ctx.divisor = mean, n - correction
        ctx.save_for_backward(x)
        return np.asarray(np.float32(squares / np.float32(ctx.divisor)))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if not GRAD_ENABLED[0]:
            factor = np.float32(2 / ctx.divisor) * g._data
            gx = onednn_reduction.scaled_centered(x._data, ctx.mean, factor)
            if gx is not None:
                return wrap(gx), None
        return (2 / ctx.divisor) * g * (x - x.mean()), None  # recorded: the mean's part too


@numpy_kwargs
def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Variance with Bessel's correction by default (``correction=1``)."""
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    _require_float(input, "var")
    c = _correction(unbiased, correction)
    dims = _dims(input, dim, "var")
    n = int(np.prod([input._data.shape[d] for d in dims])) if dims else 1
    if len(dims) == input._data.ndim and n > c and onednn_reduction.usable(input._data):
        whole = Variance.apply(input, c)
        return whole.reshape((1,) * input._data.ndim) if keepdim else whole
    centered = input - mean(input, dims, keepdim=True)
    sq = (centered * centered).sum(dims, keepdim=keepdim)
    denom = n - c
    return sq / denom if denom > 0 else sq / float("nan") if n == 0 else sq * float("inf")


@numpy_kwargs
def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return var(input, dim, unbiased, keepdim, correction=correction).sqrt()


@numpy_kwargs
def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    if isinstance(dim, bool):
        unbiased, dim = dim, None
    return (var(input, dim, unbiased, keepdim, correction=correction),
            mean(input, _dims(input, dim, "var_mean"), keepdim))  # fmt: skip


@numpy_kwargs
def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    v, m = var_mean(input, dim, unbiased, keepdim, correction=correction)
    return v.sqrt(), m


class LogSumExp(ArrayFunction):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        m = np.max(x, axis=dims, keepdims=True) if x.size else np.zeros((1,) * x.ndim, x.dtype)
        m = np.where(np.isfinite(m), m, 0)
        out = np.log(np.sum(np.exp(x - m), axis=dims, keepdims=True)) + m
        out = out.astype(x.dtype, copy=False)
        if not keepdim:
            out = out.reshape(tuple(s for i, s in enumerate(x.shape) if i not in dims))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        g = _expand_back(g, ctx.shape, ctx.dims, ctx.keepdim)
        out = _expand_back(out, ctx.shape, ctx.dims, ctx.keepdim)
        return g * (x - out).exp(), None, None


@numpy_kwargs
def logsumexp(input, dim, keepdim=False):
    if input._data.dtype.kind in "iub":
        input = input.float()
    return LogSumExp.apply(input, _dims(input, dim, "logsumexp"), keepdim)


class CumSum(ArrayFunction):
    @staticmethod
    def forward(ctx, x, dim, dtype):
        ctx.dim = dim
        if dim == x.ndim - 1 and (dtype is None or dtype == x.dtype):
            fast = scan.cumsum(x)
            if fast is not None:
                return fast
        return along_axis(np.cumsum, x, dim, dtype=dtype)

    @staticmethod
    def backward(ctx, g):
        if not GRAD_ENABLED[0] and g._data.ndim and g._data.__class__ is np.ndarray:
            return wrap(_reverse_cumsum(g._data, ctx.dim)), None, None
        return g.flip(ctx.dim).cumsum(ctx.dim).flip(ctx.dim), None, None


def _reverse_cumsum(a, axis):
    """Sums from each position to the end along ``axis`` (the flipped cumulative sum), read
    and written through reversed views: no flipped copies."""
    if axis == a.ndim - 1:
        fast = scan.cumsum(a, reverse=True)
        if fast is not None:
            return fast
    out = np.empty(a.shape, a.dtype)
    reverse = (slice(None),) * axis + (slice(None, None, -1),)
    along_axis(np.cumsum, a[reverse], axis, out=out[reverse])
    return out


@numpy_kwargs
def cumsum(input, dim, *, dtype=None, out=None):
    if out is not None:
        return _into_out(lambda d: cumsum(input, dim, dtype=d), dtype, out)
    dt = np_dtype(dtype)
    if dt is None and input._data.dtype.kind in "iub":
        dt = np.int64
    d = norm_dim(dim, input._data.ndim, "cumsum")
    if input._data.ndim == 0:
        return input.clone() if dt is None else input.to(_dtype.from_np(dt))
    return CumSum.apply(input, d, dt)


class CumProd(ArrayFunction):
    @staticmethod
    def forward(ctx, x, dim, dtype):
        ctx.dim = dim
        out = np.cumprod(x, axis=dim, dtype=dtype)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        d = ctx.dim
        if (x._data == 0).any():
            # Exact form: d out_j / d x_i = prod_{k<=j, k!=i} x_k; O(n^2) along dim.
            n = x.shape[d]
            xm = x.movedim(d, -1)
            gm = g.movedim(d, -1)
            cols = []
            for i in range(n):
                mask = wrap(np.arange(n) == i)
                replaced = xm.where(~mask, 1.0)
                cp = replaced.cumprod(-1)
                cols.append((gm * cp).narrow(-1, i, n - i).sum(-1))
            return stack(cols, -1).movedim(-1, d), None, None
        return (g * out).flip(d).cumsum(d).flip(d) / x, None, None


@numpy_kwargs
def cumprod(input, dim, *, dtype=None):
    dt = np_dtype(dtype)
    if dt is None and input._data.dtype.kind in "iub":
        dt = np.int64
    d = norm_dim(dim, input._data.ndim, "cumprod")
    if input._data.ndim == 0:
        return input.clone() if dt is None else input.to(_dtype.from_np(dt))
    return CumProd.apply(input, d, dt)


def _cum_ext(input, dim, is_max):
    if input._data.ndim == 0:
        return _scalar_values_indices(input, dim, "cummax" if is_max else "cummin")
    d = norm_dim(dim, input._data.ndim, "cummax" if is_max else "cummin")
    x = input._data
    acc = (np.maximum if is_max else np.minimum).accumulate(x, axis=d)
    n = x.shape[d]
    pos = np.arange(n).reshape((-1,) + (1,) * (x.ndim - d - 1))
    hit = np.where(x == acc, pos, -1)
    idx = np.maximum.accumulate(hit, axis=d).astype(np.int64)
    idx_t = wrap(idx)
    return return_type("cummax" if is_max else "cummin", ["values", "indices"])(
        input.gather(d, idx_t), idx_t
    )


@numpy_kwargs
def cummax(input, dim):
    reject_complex(input, "cummax_cpu")
    return _cum_ext(input, dim, True)


@numpy_kwargs
def cummin(input, dim):
    reject_complex(input, "cummin_cpu")
    return _cum_ext(input, dim, False)


@numpy_kwargs
def logcumsumexp(input, dim):
    d = norm_dim(dim, input._data.ndim, "logcumsumexp")
    m = input.detach().amax(d, keepdim=True)
    m = m.where(m.isfinite(), 0.0)
    return (input - m).exp().cumsum(d).log() + m


def _logical_result(r, input):
    """bool, except that uint8 input gives uint8 (as in PyTorch)."""
    return wrap(np.asarray(r, dtype=np.uint8 if input._data.dtype == np.uint8 else np.bool_))


@numpy_kwargs
def all(input, dim=None, keepdim=False):
    axis = None if dim is None else _dims(input, dim, "all")
    return _logical_result(np.all(input._data, axis=axis, keepdims=keepdim), input)


@numpy_kwargs
def any(input, dim=None, keepdim=False):
    axis = None if dim is None else _dims(input, dim, "any")
    return _logical_result(np.any(input._data, axis=axis, keepdims=keepdim), input)


@numpy_kwargs
def count_nonzero(input, dim=None):
    axis = None if dim is None else _dims(input, dim, "count_nonzero")
    return wrap(np.asarray(np.count_nonzero(input._data, axis=axis), dtype=np.int64))


@numpy_kwargs
def median(input, dim=None, keepdim=False):
    """The lower median (PyTorch's convention), with indices when ``dim`` is given; a slice
    holding NaN gives NaN (and a NaN's index)."""
    return _median(input, dim, keepdim, "median")


@numpy_kwargs
def nanmedian(input, dim=None, keepdim=False):
    """The lower median of each slice's values that are not NaN (NaN for an all-NaN slice)."""
    return _median(input, dim, keepdim, "nanmedian")


def _median(input, dim, keepdim, op):
    reject_complex(input, "median_cpu")
    if dim is None:
        if input._data.size == 0:
            return wrap(np.array(np.nan, dtype=input._data.dtype))
        return _median(input.reshape(-1), 0, False, op).values
    if input._data.ndim == 0:
        return _scalar_values_indices(input, dim, op)
    d = norm_dim(dim, input._data.ndim, op)
    s = input.sort(d)  # NaN sorts last
    n = input._data.shape[d]
    nans = np.isnan(s.values._data).sum(axis=d, keepdims=True) if input.is_floating_point() else 0
    valid = n - nans
    if op == "nanmedian":
        k = np.maximum(valid - 1, 0) // 2
    else:  # the first NaN where there is one
        k = np.where(valid < n, valid, (n - 1) // 2)
    shape = s.values._data.shape
    k = wrap(np.broadcast_to(k, shape[:d] + (1,) + shape[d + 1 :]).astype(np.int64))
    v, i = s.values.gather(d, k), s.indices.gather(d, k)
    if not keepdim:
        v, i = v.squeeze(d), i.squeeze(d)
    return return_type(op, ["values", "indices"])(v, i)


@numpy_kwargs
def mode(input, dim=-1, keepdim=False):
    reject_complex(input, "mode_cpu")
    if input._data.ndim == 0:
        return _scalar_values_indices(input, dim, "mode")
    d = norm_dim(dim, input._data.ndim, "mode")
    x = np.moveaxis(input._data, d, -1)
    flat = x.reshape(-1, x.shape[-1])
    vals, idxs = [], []
    for row in flat:
        u, c = np.unique(row, return_counts=True)
        v = u[np.argmax(c)]
        vals.append(v)
        idxs.append(np.nonzero(row == v)[0][-1])
    shape = x.shape[:-1]
    v = np.asarray(vals, input._data.dtype).reshape(shape)
    i = np.asarray(idxs, np.int64).reshape(shape)
    if keepdim:
        v, i = np.expand_dims(v, d), np.expand_dims(i, d)
    return return_type("mode", ["values", "indices"])(wrap(v), wrap(i))


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    if p == "fro" or p is None:
        p = 2 if not isinstance(dim, tuple | list) or len(dim) != 2 or p is None else "fro"
    if input._data.ndim == 0 and dim is not None:
        _dims(input, dim, "norm")  # dim 0 or -1 of a 0-d tensor is the whole tensor
        dim = None
    if isinstance(p, str):
        return matrix_norm(input, p, dim if dim is not None else (-2, -1), keepdim)
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


@numpy_kwargs
def diff(input, n=1, dim=-1, prepend=None, append=None):
    if input._data.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if prepend is not None or append is not None:
        parts = [t for t in (prepend, input, append) if t is not None]
        input = cat(parts, dim)
    for _ in range(n):
        k = input.shape[dim]
        input = input.narrow(dim, 1, k - 1) - input.narrow(dim, 0, k - 1)
    return input


def trace(input):
    return input.diagonal().sum()


@numpy_kwargs
def cumsum_(self, dim, *, dtype=None):
    return inplace(self, cumsum, dim, dtype=dtype)
