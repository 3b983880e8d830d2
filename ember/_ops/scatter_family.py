"""Out-of-place writes into a copy of a tensor: a slice, a selected index, a diagonal, a
strided window (``*_scatter``), advanced-index positions (``index_put``), flat positions
(``put``), and reductions of rows into chosen indices (``index_reduce``).

Each op finds the flat positions it writes and then writes them with ``index_copy`` or
``index_add`` on the flattened input, so every one shares their gradients."""

import numpy as np

from ember._ops import index as index_ops
from ember._ops._numpy_kwargs import numpy_kwargs
from ember._ops._util import norm_dim
from ember._ops.splits_copies import strided_positions
from ember._tensor import Tensor, wrap
from ember.autograd.inplace import inplace

__all__ = [
    "slice_scatter", "select_scatter", "diagonal_scatter", "as_strided_scatter", "index_put",
    "index_put_", "index_reduce", "put",
]  # fmt: skip


def _positions(input, take):
    """The flat (row-major) positions of the elements ``take(positions of input)`` picks.

    The positions are a sum over dims of broadcast (unallocated) ``index * stride`` arrays;
    ``take`` runs on each, so memory goes to the picked elements only, not to all of input."""
    shape = tuple(input.shape)
    if not shape:
        return take(np.zeros((), np.int64))
    total, stride = 0, 1
    for d in reversed(range(len(shape))):
        view = [1] * len(shape)
        view[d] = shape[d]
        steps = (np.arange(shape[d], dtype=np.int64) * stride).reshape(view)
        total = total + take(np.broadcast_to(steps, shape))
        stride *= shape[d]
    return np.asarray(total, dtype=np.int64)


def _write(input, positions, src, accumulate=False):
    """A copy of ``input`` with ``src`` (shaped as ``positions``) written, or added, at the
    flat ``positions``."""
    flat = input.reshape(-1)
    where = wrap(np.ascontiguousarray(positions).reshape(-1))
    values = src.reshape(-1)
    out = flat.index_add(0, where, values) if accumulate else flat.index_copy(0, where, values)
    return out.reshape(tuple(input.shape))


def _scatter_exact(op, input, src, positions):
    """Write ``src``, whose shape must be the written region's, at ``positions``."""
    if tuple(src.shape) != positions.shape:
        raise RuntimeError(
            f"{op}: expected src to have a size equal to the slice of self. src size = "
            f"{list(src.shape)}, slice size = {list(positions.shape)}"
        )
    return _write(input, positions, src.to(input.dtype))


@numpy_kwargs
def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    """``input`` with ``src`` written into ``input[..., start:end:step, ...]`` along ``dim``."""
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    d = norm_dim(dim, input.dim(), "slice_scatter")
    key = (slice(None),) * d + (slice(start, end, step),)
    return _scatter_exact("slice_scatter", input, src, _positions(input, lambda p: p[key]))


@numpy_kwargs
def select_scatter(input, src, dim, index):
    """``input`` with ``src`` written into ``input.select(dim, index)``."""
    if input.dim() == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = norm_dim(dim, input.dim(), "select_scatter")
    n = input.shape[d]
    if not -n <= index < n:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(input.shape)} at "
            f"dimension {d}"
        )
    key = (slice(None),) * d + (int(index) % n,)
    return _scatter_exact("select_scatter", input, src, _positions(input, lambda p: p[key]))


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    """``input`` with ``src`` written into ``input.diagonal(offset, dim1, dim2)``."""
    d1 = norm_dim(dim1, input.dim(), "diagonal_scatter")
    d2 = norm_dim(dim2, input.dim(), "diagonal_scatter")
    positions = _positions(input, lambda p: np.diagonal(p, offset, d1, d2))
    return _scatter_exact("diagonal_scatter", input, src, positions)


def as_strided_scatter(input, src, size, stride, storage_offset=None):
    """``input`` with ``src`` written into the elements ``as_strided(size, stride,
    storage_offset)`` would view; positions count ``input``'s elements in row-major order."""
    positions = strided_positions("as_strided_scatter", input, size, stride, storage_offset)
    return _scatter_exact("as_strided_scatter", input, src, positions)


def _index_key(op, input, indices):
    if not isinstance(indices, tuple | list):
        raise TypeError(f"{op}(): argument 'indices' must be tuple of Tensors")
    key = tuple(slice(None) if i is None else i for i in indices)
    if len([k for k in key if not isinstance(k, slice)]) == 0:
        raise RuntimeError(f"{op}(): expected at least one index tensor")
    for k in key:
        if isinstance(k, Tensor) and k._data.dtype.kind not in "iub":
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    return key


def index_put(input, indices, values, accumulate=False):
    """A copy of ``input`` with ``values`` written (or, with ``accumulate``, added, repeated
    indices adding up) at ``input[indices]``."""
    key = _index_key("index_put", input, indices)
    if values._data.dtype != input._data.dtype:
        raise RuntimeError(
            "Index put requires the source and destination dtypes match, got "
            f"{input.dtype.name.capitalize()} for the destination and "
            f"{values.dtype.name.capitalize()} for the source."
        )
    positions = _positions(input, lambda p: index_ops.getitem(wrap(p), key)._data)
    try:
        np.broadcast_shapes(tuple(values.shape), positions.shape)
        expanded = values.expand(positions.shape)
    except (ValueError, RuntimeError):
        raise RuntimeError(
            f"shape mismatch: value tensor of shape {list(values.shape)} cannot be broadcast to "
            f"indexing result of shape {list(positions.shape)}"
        ) from None
    return _write(input, positions, expanded, accumulate)


def index_put_(input, indices, values, accumulate=False):
    return inplace(input, index_put, indices, values, accumulate)


def put(input, index, source, accumulate=False):
    """A copy of ``input`` with ``source`` written (or added) at the flat positions ``index``
    (negative positions count from the end)."""
    if index._data.dtype.kind not in "iu":
        raise RuntimeError(f"put_(): Expected a long tensor for index, but got {index.dtype}")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(
            "put_(): self and source expected to have the same dtype, but got self.dtype = "
            f"{input.dtype.name.capitalize()} and source.dtype = "
            f"{source.dtype.name.capitalize()}"
        )
    if index.numel() != source.numel():
        raise IndexError(
            "put_(): Expected source and index to have the same number of elements, but got "
            f"source.numel() = {source.numel()}, index.numel() = {index.numel()}"
        )
    n = input.numel()
    idx = index._data.astype(np.int64).reshape(-1)
    bad = idx[(idx >= n) | (idx < -n)]
    if bad.size:
        raise IndexError(
            f"out of range: tried to access index {int(bad[0])} on a tensor of {n} elements."
        )
    return _write(input, np.where(idx < 0, idx + n, idx), source.reshape(-1), accumulate)


def put_(input, index, source, accumulate=False):
    return inplace(input, put, index, source, accumulate)


_INDEX_REDUCTIONS = ("prod", "mean", "amax", "amin")


@numpy_kwargs
def index_reduce(input, dim, index, source, reduce, *, include_self=True):
    """``input`` with the slices ``source.select(dim, i)`` reduced (``prod``, ``mean``,
    ``amax``, ``amin``) into ``input.select(dim, index[i])``; with ``include_self=False``
    the written slices of ``input`` take no part."""
    if reduce not in _INDEX_REDUCTIONS:
        raise RuntimeError(
            "index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got "
            f"{reduce}."
        )
    d = norm_dim(dim, max(input.dim(), 1), "index_reduce")
    if index.dim() > 1:
        raise IndexError("index_reduce_(): Index is supposed to be a vector")
    if index._data.dtype not in (np.int64, np.int32):
        raise RuntimeError(
            f"index_reduce_(): Expected dtype int32/int64 for index but got: {index.dtype}"
        )
    if source.dim() != input.dim():
        raise IndexError("index_reduce_(): Source/destination tensor must have same dimensions")
    n_src = source.shape[d] if source.dim() else 1
    if index.numel() != n_src:
        raise RuntimeError(
            f"index_reduce_(): Number of indices ({index.numel()}) should be equal to "
            f"source.size(dim): ({n_src}), for dim: {d}"
        )
    n = input.shape[d] if input.dim() else 1
    idx = index._data.reshape(-1)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError(f"index_reduce(): index out of range in self: {idx.tolist()} for size {n}")
    if input.dim() == 0:
        return index_reduce(input.reshape(1), 0, index, source.reshape(1), reduce,
                            include_self=include_self).reshape(())  # fmt: skip
    view = [1] * source.dim()
    view[d] = -1
    full = np.broadcast_to(idx.reshape(view), tuple(source.shape))
    return index_ops.scatter_reduce(
        input, d, wrap(np.ascontiguousarray(full).astype(np.int64)), source, reduce,
        include_self=include_self,
    )  # fmt: skip


@numpy_kwargs
def index_reduce_(input, dim, index, source, reduce, *, include_self=True):
    return inplace(input, index_reduce, dim, index, source, reduce, include_self=include_self)


METHODS = {
    "slice_scatter": slice_scatter, "select_scatter": select_scatter,
    "diagonal_scatter": diagonal_scatter, "as_strided_scatter": as_strided_scatter,
    "index_put": index_put, "index_put_": index_put_, "put": put, "put_": put_,
    "index_reduce": index_reduce, "index_reduce_": index_reduce_,
}  # fmt: skip
"""Tensor methods of this family, bound by ``_methods.py``."""
