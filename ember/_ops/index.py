"""Indexing: __getitem__/__setitem__, gather/scatter, masks, sorting and search."""

import numpy as np

from ember import _dtype
from ember._ops._numpy_kwargs import numpy_kwargs
from ember._ops._return_types import return_type
from ember._ops._util import norm_dim
from ember._ops.complex import reject_complex
from ember._tensor import Tensor, wrap
from ember.autograd.function import (
    PROFILER,
    ArrayFunction,
    ViewFunction,
    untracked,
    untracked_view,
)
from ember.autograd.grad_mode import GRAD_ENABLED
from ember.autograd.inplace import check_no_internal_overlap, has_internal_overlap, inplace

__all__ = [
    "gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add",
    "index_fill", "index_copy", "masked_fill", "masked_select", "masked_scatter",
    "take_along_dim", "take", "nonzero", "argwhere", "sort", "argsort", "topk", "unique",
    "unique_consecutive", "msort", "searchsorted", "bucketize", "kthvalue",
]  # fmt: skip

sort_result = return_type("sort", ["values", "indices"])
topk_result = return_type("topk", ["values", "indices"])


def _convert_key(key, shape):
    """A NumPy index from a PyTorch one: Tensors become arrays; bool masks are checked."""
    if not isinstance(key, tuple):
        key = (key,)
    out = []
    advanced = False
    for k in key:
        if isinstance(k, Tensor):
            k = k._data
        elif isinstance(k, list):
            k = np.asarray([x.item() if isinstance(x, Tensor) else x for x in k])
        if isinstance(k, np.ndarray):
            advanced = True
            if k.dtype.kind not in "iub":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            if k.dtype == np.uint8:
                k = k.astype(bool)
        out.append(k)
    return tuple(out), advanced


def _check_bounds(key, shape):
    dim = 0
    for k in key:
        if k is None:
            continue
        if k is Ellipsis:
            n_rest = sum(1 for x in key[key.index(k) + 1 :] if x is not None)
            dim = len(shape) - n_rest
            continue
        if isinstance(k, int | np.integer) and not isinstance(k, bool):
            if dim >= len(shape):
                raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
            n = shape[dim]
            if not -n <= k < n:
                raise IndexError(f"index {k} is out of bounds for dimension {dim} with size {n}")
        elif isinstance(k, np.ndarray) and k.dtype != np.bool_ and k.size and dim < len(shape):
            n = shape[dim]
            if k.max() >= n or k.min() < -n:
                bad = k.max() if k.max() >= n else k.min()
                raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {n}")
        elif isinstance(k, np.ndarray) and k.dtype == np.bool_:
            seg = shape[dim : dim + k.ndim]
            if tuple(seg) != k.shape:
                raise IndexError(
                    f"The shape of the mask {list(k.shape)} at index {dim} does not match the "
                    f"shape of the indexed tensor {list(shape)} at index {dim}"
                )
            dim += k.ndim
            continue
        dim += 1


class GetItem(ArrayFunction):
    """x[key]; ``index_tensors`` are the tensors whose arrays are in ``key``, saved so that an
    in-place change to an index before backward raises, as in PyTorch."""

    @staticmethod
    def forward(ctx, x, key, *index_tensors):
        ctx.key, ctx.shape = key, x.shape
        ctx.save_for_backward(*index_tensors)
        return x[key]

    @staticmethod
    def backward(ctx, g):
        guards = ctx.saved_tensors  # raises if an index was modified in place since forward
        return embed(g, ctx.shape, ctx.key), None, *(None,) * len(guards)


class GetItemView(ViewFunction):
    """x[key] for basic indexing: a view, also when every dim takes an integer (NumPy would
    return a scalar copy there, and ``t[0].add_(1)`` would miss ``t``)."""

    @staticmethod
    def forward(ctx, x, key, *index_tensors):
        ctx.key, ctx.shape = key, x.shape
        ctx.save_for_backward(*index_tensors)
        out = x[key]
        return out if isinstance(out, np.ndarray) else x[(*key, Ellipsis)]

    backward = staticmethod(GetItem.backward)


class Embed(ArrayFunction):
    """zeros(shape) with ``g`` added at ``key`` (the backward of indexing)."""

    @staticmethod
    def forward(ctx, g, shape, key, advanced):
        ctx.key = key  # from a backward that checked the index tensors' versions
        out = np.zeros(shape, g.dtype)
        if advanced:
            np.add.at(out, key, g)
        else:
            out[key] = g
        return out

    @staticmethod
    def backward(ctx, gg):
        return gg[ctx.key], None, None, None


def embed(g, shape, key):
    _, advanced = _convert_key(key, shape)
    return Embed.apply(g, shape, key, advanced)


_BASIC_PARTS = (int, slice, type(None), type(Ellipsis))


def _is_basic(key):
    """Whether ``key`` indexes with ints, slices, None and ``...`` only (a view)."""
    if key.__class__ is not tuple:
        return key.__class__ in _BASIC_PARTS
    for k in key:
        if k.__class__ not in _BASIC_PARTS:
            return False
    return True


def _plain_view(self, key):
    """``self[key]`` for a basic ``key`` as a view without a graph (what the op gives where
    nothing needs a gradient, at a third of the cost), or None where the op must run."""
    if not untracked(self):
        return None
    data = self._data
    if key.__class__ is not tuple:
        key = (key,)
    out = _indexed(data, key)
    if out.__class__ is not np.ndarray:  # every dim given an int: a view still
        out = data[(*key, Ellipsis)]
    return untracked_view(self, out)


def _indexed(data, key):
    """``data[key]``, raising PyTorch's message where NumPy refuses an index (the checks run
    only then: NumPy refuses every index they would)."""
    try:
        return data[key]
    except IndexError:
        _check_bounds(key, data.shape)
        raise


def getitem(self, key):
    if key.__class__ is int:  # t[i], as a dataset's __getitem__ takes each sample
        data = self._data
        if data.ndim and -data.shape[0] <= key < data.shape[0]:
            if not untracked(self):
                return GetItemView.apply(self, (key,))
            return untracked_view(self, data[key, ...])  # (no bounds left to check)
    elif _is_basic(key):
        view = _plain_view(self, key)
        if view is not None:
            return view
    raw_key = key
    data = self._data
    key, advanced = _convert_key(key, data.shape)
    if advanced and untracked(self):
        return wrap(_indexed(data, key))
    try:
        if advanced:
            return GetItem.apply(self, key, *_index_tensors(raw_key))
        return GetItemView.apply(self, key)
    except IndexError:
        _check_bounds(key, data.shape)
        raise


def _index_tensors(key):
    """The tensors among the parts of an indexing key."""
    return [k for k in (key if isinstance(key, tuple) else (key,)) if isinstance(k, Tensor)]


class SetItem(ArrayFunction):
    """A copy of x with ``value`` written at ``key``; ``index_tensors`` as in GetItem."""

    @staticmethod
    def forward(ctx, x, value, key, *index_tensors):
        ctx.key = key
        ctx.save_for_backward(*index_tensors)
        out = x.copy()
        out[key] = value
        return out

    @staticmethod
    def backward(ctx, g):
        guards = ctx.saved_tensors  # raises if an index was modified in place since forward
        gx = SetItem.apply(g, 0.0, ctx.key)
        gv = g[ctx.key] if ctx.needs_input_grad[1] else None
        return gx, gv, None, *(None,) * len(guards)


def setitem(self, key, value):
    guards = _index_tensors(key)
    key, _ = _convert_key(key, self._data.shape)
    if isinstance(value, np.ndarray):
        value = wrap(value)
    if isinstance(value, Tensor) and value._data.dtype != self._data.dtype:
        value = value.to(self.dtype)
    value_grad = isinstance(value, Tensor) and value._requires_grad
    try:
        if has_internal_overlap(self._data):
            if not (self._requires_grad or value_grad):
                return _setitem_shared_memory(self, key, value)
        elif not (GRAD_ENABLED[0] and (self._requires_grad or value_grad)):
            if _write_untracked(self, key, value):
                return
        inplace(self, lambda t, v: SetItem.apply(t, v, key, *guards), value)
    except IndexError:
        _check_bounds(key, self._data.shape)
        raise
    except ValueError as e:
        raise RuntimeError(f"__setitem__: {e}") from None


def _write_untracked(self, key, value):
    """``self[key] = value`` straight into ``self``'s memory, where no graph records it and
    both are NumPy arrays or numbers; False where the op must run."""
    data = self._data
    if data.__class__ is not np.ndarray or PROFILER[0] is not None:
        return False
    if value.__class__ is Tensor:
        value = value._data
        if value.__class__ is not np.ndarray:
            return False
    elif isinstance(value, Tensor):
        return False
    data[key] = value
    self._vc[0] += 1
    return True


def _setitem_shared_memory(self, key, value):
    """Assignment into an expanded tensor writes the shared memory, as in PyTorch: allowed
    where the written region repeats no memory location."""
    check_no_internal_overlap(wrap(self._data[key]))
    self._data[key] = value._data if isinstance(value, Tensor) else value
    self._vc[0] += 1


def _index_shape_check(op, input, dim, index):
    if index._data.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): Expected dtype int64 for index")


def out_of_range(idx, n, wrap_negative=False):
    """The first-found index of ``idx`` outside ``[0, n)`` (``[-n, n)`` with ``wrap_negative``),
    or None; one min and one max over the array, cheap enough for every call."""
    if not idx.size:
        return None
    lo, hi = idx.min(), idx.max()
    if hi >= n:
        return int(hi)
    if lo < (-n if wrap_negative else 0):
        return int(lo)
    return None


def check_in_range(op, idx, dim, n, error=RuntimeError, wrap_negative=False):
    """Raise ``error`` naming ``op``, the bad index, ``dim`` and its size ``n``."""
    bad = out_of_range(idx, n, wrap_negative)
    if bad is not None:
        raise error(f"{op}(): index {bad} is out of bounds for dimension {dim} with size {n}")


@numpy_kwargs
def gather(input, dim, index, *, sparse_grad=False):
    """Values of ``input`` at ``index`` along ``dim``."""
    d = norm_dim(dim, input._data.ndim, "gather")
    _index_shape_check("gather", input, d, index)
    idx = index._data
    if idx.ndim != input._data.ndim and input._data.ndim:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for i, (a, b) in enumerate(zip(idx.shape, input._data.shape)):
        if i != d and a > b:
            raise RuntimeError(
                f"Size does not match at dimension {i} expected index {list(idx.shape)} to be "
                f"smaller than self {list(input.shape)} apart from dimension {d}"
            )
    check_in_range("gather", idx, d, input._data.shape[d] if input._data.ndim else 1)
    key = tuple(slice(0, s) if i != d else slice(None) for i, s in enumerate(idx.shape))
    x = input if input._data[key].shape == input._data.shape else input[key]
    return _GatherOp.apply(x, d, index)


class _GatherOp(ArrayFunction):
    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.dim, ctx.shape = dim, x.shape
        ctx.save_for_backward(index)
        return np.take_along_axis(x, index, axis=dim)

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        zeros = wrap(np.zeros(ctx.shape, g._data.dtype))
        return scatter_add(zeros, ctx.dim, index, g), None, None


def _src_grad(g, index, src_shape):
    """The gradient of a scatter source: ``g`` where ``index`` reads it, zero beyond."""
    if tuple(g.shape) == tuple(src_shape):
        return g
    return embed(g, src_shape, tuple(slice(0, n) for n in index.shape))


def _scatter_positions(index, dim):
    """Full index arrays addressing, for each element of ``index``, its target position."""
    grids = np.indices(index.shape, sparse=True)
    pos = list(grids)
    pos[dim] = index
    return tuple(pos)


class ScatterAdd(ArrayFunction):
    @staticmethod
    def forward(ctx, x, dim, index, src):
        ctx.dim, ctx.src_shape = dim, src.shape
        ctx.save_for_backward(index)
        out = x.copy()
        s = src[tuple(slice(0, n) for n in index.shape)]
        np.add.at(out, _scatter_positions(index, dim), s.astype(out.dtype, copy=False))
        return out

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        gsrc = None
        if ctx.needs_input_grad[3]:
            gsrc = _src_grad(g.gather(ctx.dim, index), index, ctx.src_shape)
        return g, None, None, gsrc


class Scatter(ArrayFunction):
    @staticmethod
    def forward(ctx, x, dim, index, src):
        ctx.dim, ctx.src_shape = dim, getattr(src, "shape", None)
        ctx.save_for_backward(index)
        out = x.copy()
        pos = _scatter_positions(index, dim)
        if isinstance(src, np.ndarray):
            out[pos] = src[tuple(slice(0, n) for n in index.shape)]
        else:
            out[pos] = src
        return out

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        gx = g.scatter(ctx.dim, index, 0.0)
        gsrc = None
        if ctx.needs_input_grad[3]:
            gsrc = _src_grad(g.gather(ctx.dim, index), index, ctx.src_shape)
        return gx, None, None, gsrc


def _check_scatter(op, input, dim, index, src):
    d = norm_dim(dim, input._data.ndim, op)
    if index._data.dtype not in (np.int64, np.int32):
        raise RuntimeError(
            f"{op}(): Expected dtype int32/int64 for index, got {_dtype.from_np(index._data.dtype)}"
        )
    check_in_range(op, index._data, d, input._data.shape[d] if input._data.ndim else 1)
    if isinstance(src, Tensor) and src.dtype != input.dtype:
        raise RuntimeError(
            f"{op}(): Expected self.dtype to be equal to src.dtype ({input.dtype} vs {src.dtype})"
        )
    return d


@numpy_kwargs
def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """A copy of ``input`` with ``src`` (or ``value``) written at ``index`` along ``dim``."""
    if src is None:
        src = value
    d = _check_scatter("scatter", input, dim, index, src)
    if reduce is not None:
        return scatter_reduce(input, d, index, src if isinstance(src, Tensor) else
                              wrap(np.full(index.shape, src, input._data.dtype)),
                              {"add": "sum", "multiply": "prod"}[reduce])  # fmt: skip
    return Scatter.apply(input, d, index, src)


@numpy_kwargs
def scatter_add(input, dim, index, src):
    d = _check_scatter("scatter_add", input, dim, index, src)
    return ScatterAdd.apply(input, d, index, src)


class ScatterReduce(ArrayFunction):
    @staticmethod
    def forward(ctx, x, dim, index, src, reduce, include_self):
        pos = _scatter_positions(index, dim)
        s = src[tuple(slice(0, n) for n in index.shape)]
        ufunc = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum,
                 "amin": np.minimum}[reduce]  # fmt: skip
        out = x.copy()
        if not include_self:
            ident = {"sum": 0, "mean": 0, "prod": 1, "amax": -np.inf, "amin": np.inf}[reduce]
            if out.dtype.kind != "f":
                info = np.iinfo(out.dtype)
                ident = {-np.inf: info.min, np.inf: info.max}.get(ident, ident)
            out[pos] = ident
        ufunc.at(out, pos, s)
        if reduce == "mean":
            count = np.zeros(x.shape, np.int64) + (1 if include_self else 0)
            np.add.at(count, pos, 1)
            divisor = np.maximum(count, 1)
            # Integer means floor, as PyTorch's do, and stay exact beyond float64's 2**53.
            mean = np.floor_divide(out, divisor) if out.dtype.kind in "iu" else out / divisor
            out = np.where(count > 0, mean, x).astype(x.dtype)
            ctx.count = count  # how many values each position averages: computed here
        ctx.args = (dim, reduce, include_self)
        ctx.save_for_backward(x, index, src, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, index, src, out = ctx.saved_tensors
        dim, reduce, include_self = ctx.args
        pos_touched = wrap(np.zeros(x.shape, bool))
        pos_touched._data[_scatter_positions(index._data, dim)] = True
        if reduce == "sum":
            gx = g if include_self else g.masked_fill(pos_touched, 0.0)
            return gx, None, None, _src_grad(g.gather(dim, index), index, src.shape), None, None
        if reduce == "mean":
            cnt = wrap(np.maximum(ctx.count, 1).astype(g._data.dtype))
            gm = g / cnt
            gx = gm if include_self else gm.masked_fill(pos_touched, 0.0)
            gx = gx.where(pos_touched, g) if include_self else gx
            return gx, None, None, _src_grad(gm.gather(dim, index), index, src.shape), None, None
        if reduce == "prod":
            # Without self, untouched positions keep x: their gradient is g.
            gx = g * out / x.where(x != 0, 1.0) if include_self else (
                g.masked_fill(pos_touched, 0.0))  # fmt: skip
            s = src[tuple(slice(0, n) for n in index.shape)]
            gsrc = (g * out).gather(dim, index) / s.where(s != 0, 1.0)
            return gx, None, None, _src_grad(gsrc, index, src.shape), None, None
        # amax / amin: the gradient goes evenly to the elements equal to the result.
        sel_src = src[tuple(slice(0, n) for n in index.shape)] == out.gather(dim, index)
        n = wrap(np.zeros(x.shape, g._data.dtype))
        n = n.scatter_add(dim, index, sel_src.to(g.dtype))
        # Without self, only the untouched positions (which keep x) take x's gradient.
        sel_x = (x == out) if include_self else ~pos_touched
        n = n + sel_x.to(g.dtype)
        share = g / n.where(n > 0, 1.0)
        gx = share * sel_x.to(g.dtype)
        gsrc = share.gather(dim, index) * sel_src.to(g.dtype)
        return gx, None, None, _src_grad(gsrc, index, src.shape), None, None


@numpy_kwargs
def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    if reduce not in ("sum", "mean", "prod", "amax", "amin"):
        raise RuntimeError(
            f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}"
        )
    d = _check_scatter("scatter_reduce", input, dim, index, src)
    return ScatterReduce.apply(input, d, index, src, reduce, include_self)


class IndexSelect(ArrayFunction):
    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.dim, ctx.shape = dim, x.shape
        ctx.save_for_backward(index)
        return np.take(x, index, axis=dim)

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        return wrap(np.zeros(ctx.shape, g._data.dtype)).index_add(ctx.dim, index, g), None, None


# How each index op treats an index outside [0, size): the error PyTorch raises, and whether
# negative indices in [-size, 0) count from the end (index_fill) or are out of range.
_INDEX_RANGE_RULES = {
    "index_select": (IndexError, False),
    "index_add": (RuntimeError, False),
    "index_copy": (IndexError, False),
    "index_fill": (IndexError, True),
}


def _check_index(op, input, dim, index):
    d = norm_dim(dim, input._data.ndim, op)
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(
            f"{op}(): Expected dtype int32 or int64 for index, got {_dtype.from_np(idx.dtype)}"
        )
    if idx.ndim > 1:
        raise IndexError(f"{op}(): Index is supposed to be a vector")
    n = input._data.shape[d] if input._data.ndim else 1
    error, wrap_negative = _INDEX_RANGE_RULES[op]
    bad = out_of_range(idx, n, wrap_negative)
    if bad is not None:
        raise error(f"{op}(): index {bad} is out of bounds for dimension {d} with size {n}")
    flat = index.reshape(-1) if isinstance(index, Tensor) else wrap(idx.reshape(-1))
    return d, flat  # a view of a tensor index keeps its version counter for backward


@numpy_kwargs
def index_select(input, dim, index):
    d, index = _check_index("index_select", input, dim, index)
    return IndexSelect.apply(input, d, index)


class IndexAdd(ArrayFunction):
    @staticmethod
    def forward(ctx, x, dim, index, src, alpha):
        ctx.dim = dim
        ctx.save_for_backward(index)
        out = x.copy()
        key = (slice(None),) * dim + (index,)
        np.add.at(out, key, (src * alpha).astype(x.dtype, copy=False))
        ctx.alpha = alpha
        return out

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        gs = g.index_select(ctx.dim, index) * ctx.alpha if ctx.needs_input_grad[3] else None
        return g, None, None, gs, None


@numpy_kwargs
def index_add(input, dim, index, source, *, alpha=1):
    d, index = _check_index("index_add", input, dim, index)
    return IndexAdd.apply(input, d, index, source, alpha)


class IndexFill(ArrayFunction):
    @staticmethod
    def forward(ctx, x, dim, index, value):
        key = (slice(None),) * dim + (index,)
        ctx.key = key
        ctx.save_for_backward(index)  # for the version check: backward reads the key
        out = x.copy()
        out[key] = value
        return out

    @staticmethod
    def backward(ctx, g):
        _ = ctx.saved_tensors  # raises if the index was modified in place since forward
        gv = g[ctx.key].sum() if ctx.needs_input_grad[3] else None
        return SetItem.apply(g, 0.0, ctx.key), None, None, gv


@numpy_kwargs
def index_fill(input, dim, index, value):
    d, index = _check_index("index_fill", input, dim, index)
    return IndexFill.apply(input, d, index, value)


@numpy_kwargs
def index_copy(input, dim, index, source):
    d, index = _check_index("index_copy", input, dim, index)
    key = (slice(None),) * d + (index._data,)
    return SetItem.apply(input, source, key, index)


class MaskedFill(ArrayFunction):
    @staticmethod
    def forward(ctx, x, mask, value):
        ctx.save_for_backward(mask)
        v = value.astype(x.dtype) if isinstance(value, np.ndarray) else value
        return np.where(mask, v, x).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        (m,) = ctx.saved_tensors
        gv = g.where(m, 0.0).sum() if ctx.needs_input_grad[2] else None
        return g.where(~m, 0.0), None, gv


def masked_fill(input, mask, value):
    """``input`` with ``value`` where ``mask`` is true (mask broadcasts to input)."""
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise RuntimeError(
            f"masked_fill_ only supports boolean masks, but got mask with dtype "
            f"{_dtype.from_np(m.dtype).name}"
        )
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(
            "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
            f"{value.ndim} dimension(s)."
        )
    try:
        if m.shape != input._data.shape:
            np.broadcast_shapes(m.shape, input._data.shape)
    except ValueError:
        raise RuntimeError(
            f"The size of tensor a ({list(input.shape)}) must match the size of tensor b "
            f"({list(m.shape)}) (masked_fill: mask does not broadcast to input)"
        ) from None
    if isinstance(value, float) and input._data.dtype.kind in "iub":
        value = input._data.dtype.type(value)
    same = isinstance(mask, Tensor) and m is mask._data
    return MaskedFill.apply(input, mask if same else m, value)


def masked_select(input, mask):
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    shape = np.broadcast_shapes(m.shape, input._data.shape)
    x = input.expand(shape) if input.shape != shape else input
    return x[wrap(np.broadcast_to(m, shape))]


def masked_scatter(input, mask, source):
    m = np.broadcast_to(mask._data, input._data.shape)
    n = int(m.sum())
    return SetItem.apply(input, source.reshape(-1)[:n], (m,))


@numpy_kwargs
def take_along_dim(input, indices, dim=None):
    if dim is None:
        return input.reshape(-1).gather(0, indices.reshape(-1))
    d = norm_dim(dim, input._data.ndim, "take_along_dim")
    n = input._data.shape[d] if input._data.ndim else 1
    check_in_range("take_along_dim", indices._data, d, n, wrap_negative=True)
    if indices._data.size and indices._data.min() < 0:
        indices = indices.where(indices >= 0, indices + n)
    shape = list(np.broadcast_shapes(
        tuple(s for i, s in enumerate(input.shape) if i != d),
        tuple(s for i, s in enumerate(indices.shape) if i != d)))  # fmt: skip
    in_shape = shape[:d] + [input.shape[d]] + shape[d:]
    idx_shape = shape[:d] + [indices.shape[d]] + shape[d:]
    return input.expand(in_shape).gather(d, indices.expand(idx_shape))


def take(input, index):
    """Elements of the flattened ``input`` at ``index`` (negative indices count from the end)."""
    if index._data.dtype != np.int64:
        raise RuntimeError(
            f"take(): Expected a long tensor for index, but got {_dtype.from_np(index._data.dtype)}"
        )
    bad = out_of_range(index._data, input._data.size, wrap_negative=True)
    if bad is not None:
        raise IndexError(
            f"take(): out of range: tried to access index {bad} on a tensor of "
            f"{input._data.size} elements."
        )
    return input.reshape(-1)[index]


def nonzero(input, *, as_tuple=False):
    idx = np.nonzero(input._data if input._data.ndim else input._data.reshape(1))
    if as_tuple:
        return tuple(wrap(i.astype(np.int64)) for i in idx)
    if input._data.ndim == 0:  # one row of no coordinates when the scalar is nonzero
        return wrap(np.zeros((len(idx[0]), 0), np.int64))
    return wrap(np.stack(idx, axis=1).astype(np.int64))


def argwhere(input):
    return nonzero(input)


def _np_sort(x, dim, descending, stable=True):
    if descending:
        if x.dtype.kind in "bu":
            idx = np.argsort(-x.astype(np.int64), axis=dim, kind="stable")
        else:
            idx = (
                np.argsort(-x, axis=dim, kind="stable")
                if x.dtype.kind != "f"
                else (np.argsort(np.where(np.isnan(x), -np.inf, -x), axis=dim, kind="stable"))
            )
    else:
        idx = np.argsort(x, axis=dim, kind="stable")
    return idx


@numpy_kwargs
def sort(input, dim=-1, descending=False, stable=False):
    """Sorted values and their indices (NaN sorts as the largest value, as in PyTorch)."""
    reject_complex(input, "sort", "sort: does not support complex dtypes on CPU", RuntimeError)
    if input._data.ndim == 0:
        return sort_result(input.clone(), wrap(np.zeros((), np.int64)))
    d = norm_dim(dim, input._data.ndim, "sort")
    idx = wrap(_np_sort(input._data, d, descending).astype(np.int64))
    return sort_result(input.gather(d, idx), idx)


@numpy_kwargs
def argsort(input, dim=-1, descending=False, stable=False):
    return sort(input, dim, descending, stable).indices


def msort(input):
    return sort(input, 0).values


@numpy_kwargs
def topk(input, k, dim=-1, largest=True, sorted=True):
    reject_complex(input, "topk", "topk: does not support complex dtypes on CPU", RuntimeError)
    d = norm_dim(dim, max(input._data.ndim, 1), "topk") if input._data.ndim else 0
    n = input._data.shape[d] if input._data.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"selected index k out of range: topk(k={k}) of a dim of size {n}")
    if input._data.ndim == 0:
        return topk_result(input.clone(), wrap(np.zeros((), np.int64)))
    idx = _np_sort(input._data, d, largest)
    idx = wrap(np.take(idx, np.arange(k), axis=d).astype(np.int64))
    return topk_result(input.gather(d, idx), idx)


kthvalue_result = return_type("kthvalue", ["values", "indices"])


@numpy_kwargs
def kthvalue(input, k, dim=-1, keepdim=False):
    reject_complex(input, "kthvalue_cpu")
    d = norm_dim(dim, input._data.ndim, "kthvalue")
    n = input._data.shape[d] if input._data.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(
            f"kthvalue(): selected number k out of range for dimension {d}: k={k} for a "
            f"dimension of size {n}"
        )
    if input._data.ndim == 0:
        return kthvalue_result(input.clone(), wrap(np.zeros((), np.int64)))
    s = sort(input, d)
    v, i = s.values.narrow(d, k - 1, 1), s.indices.narrow(d, k - 1, 1)
    if not keepdim:
        v, i = v.squeeze(d), i.squeeze(d)
    return kthvalue_result(v, i)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """Distinct values (sorted), with inverse indices and counts on request."""
    reject_complex(input, "unique")
    x = input._data
    if dim is None:
        vals, inv, counts = np.unique(x.reshape(-1), return_inverse=True, return_counts=True)
        inv = inv.reshape(x.shape)
    else:
        if x.ndim == 0:
            raise IndexError(f"unique: Dimension specified as {dim} but tensor has no dimensions")
        d = norm_dim(dim, x.ndim, "unique")
        vals, inv, counts = np.unique(x, axis=d, return_inverse=True, return_counts=True)
        inv = inv.reshape(-1)
    out = [wrap(vals)]
    if return_inverse:
        out.append(wrap(inv.astype(np.int64)))
    if return_counts:
        out.append(wrap(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    x = input._data.reshape(-1)
    if x.size == 0:
        starts = np.zeros(0, np.int64)
    else:
        starts = np.concatenate([[0], np.nonzero(x[1:] != x[:-1])[0] + 1])
    vals = x[starts]
    out = [wrap(vals)]
    if return_inverse:
        inv = np.cumsum(np.isin(np.arange(x.size), starts)) - 1
        out.append(wrap(inv.reshape(input._data.shape).astype(np.int64)))
    if return_counts:
        out.append(wrap(np.diff(np.append(starts, x.size)).astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


def searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None):
    reject_complex(sorted_sequence, "searchsorted_out_cpu")
    reject_complex(input, "searchsorted_out_cpu")
    side = side or ("right" if right else "left")
    seq = sorted_sequence._data
    vals = input._data if isinstance(input, Tensor) else np.asarray(input)
    if seq.ndim == 1:
        r = np.searchsorted(seq, vals, side=side)
    else:
        flat_seq = seq.reshape(-1, seq.shape[-1])
        flat_v = vals.reshape(-1, vals.shape[-1])
        r = np.stack([np.searchsorted(s, v, side=side) for s, v in zip(flat_seq, flat_v)])
        r = r.reshape(vals.shape)
    return wrap(r.astype(np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries, *, out_int32=False, right=False):
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)
