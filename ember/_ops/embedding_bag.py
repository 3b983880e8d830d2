"""embedding_bag: sums, means or maxima of bags of embedding rows, without the per-row tensor.

The indices are flattened into one list of entries, each with the number of its bag. Padding
entries are dropped first, so they count neither towards a bag's size nor its maximum. The
remaining rows are gathered (``Embedding``), optionally weighted, and reduced per bag by
``_SegmentSum`` or ``_SegmentMax``. Bags are contiguous runs of entries, so both reductions
are ``reduceat`` calls over the starts of the non-empty bags; an empty bag gives zeros.
"""

import numpy as np

from ember._ops.nn_misc import Embedding, renorm_rows_
from ember._tensor import Tensor, wrap
from ember.autograd.function import ArrayFunction

__all__ = ["embedding_bag"]


class _SegmentSum(ArrayFunction):
    """out[b] = sum of rows[i] over the entries i of bag b (rows sorted by bag)."""

    @staticmethod
    def forward(ctx, rows, bag, starts, filled, num_bags):
        ctx.save_for_backward(bag)
        out = np.zeros((num_bags, rows.shape[1]), rows.dtype)
        if starts.size:
            out[filled] = np.add.reduceat(rows, starts, axis=0)
        return out

    @staticmethod
    def backward(ctx, g):
        (bag,) = ctx.saved_tensors
        return g.index_select(0, bag), None, None, None, None


class _SegmentMax(ArrayFunction):
    """out[b, d] = max of rows[i, d] over the entries i of bag b; the first maximum wins."""

    @staticmethod
    def forward(ctx, rows, bag, starts, filled, num_bags):
        n, d = rows.shape
        out = np.zeros((num_bags, d), rows.dtype)
        # argmax[b, d] is the entry that gives out[b, d]; n points at a zero row (empty bags)
        argmax = np.full((num_bags, d), n, np.int64)
        if starts.size:
            top = np.maximum.reduceat(rows, starts, axis=0)
            segment = np.searchsorted(filled, bag)
            position = np.where(rows == top[segment], np.arange(n)[:, None], n)
            out[filled] = top
            argmax[filled] = np.minimum.reduceat(position, starts, axis=0)
        ctx.save_for_backward(argmax)
        ctx.num_rows = n
        return out

    @staticmethod
    def backward(ctx, g):
        (argmax,) = ctx.saved_tensors
        zeros = wrap(np.zeros((ctx.num_rows + 1, g.shape[1]), g._data.dtype))
        return zeros.scatter_add(0, argmax, g)[: ctx.num_rows], None, None, None, None


class _ScaleGrad(ArrayFunction):
    """The identity forward; backward multiplies the gradient by a fixed per-row scale."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale  # per-row scales computed by the caller, never a user tensor
        return x

    @staticmethod
    def backward(ctx, g):
        return g * wrap(ctx.scale.astype(g._data.dtype)), None


def _array(t):
    return t._data if isinstance(t, Tensor) else np.asarray(t)


def _bags(idx, offsets, include_last_offset):
    """(flat indices, bag number of each entry, number of bags) after checking the offsets."""
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError(
                "embedding_bag: if input is 2D, then offsets has to be None, as input is "
                "treated as a mini-batch of fixed length sequences. However, found offsets "
                f"of shape {list(_array(offsets).shape)}"
            )
        b, n = idx.shape
        return idx.reshape(-1), np.repeat(np.arange(b), n), b
    if idx.ndim != 1:
        raise ValueError(
            f"embedding_bag: input has to be 1D or 2D Tensor, but got Tensor of dimension "
            f"{idx.ndim}"
        )
    if offsets is None:
        raise ValueError("embedding_bag: offsets has to be a 1D Tensor but got None")
    off = _array(offsets)
    if off.ndim != 1:
        raise ValueError(f"embedding_bag: offsets has to be a 1D Tensor, but got {off.ndim}D")
    if off.dtype.kind not in "iu":
        raise RuntimeError(f"embedding_bag: offsets must be an integer tensor, got {off.dtype}")
    m = idx.size
    if off.size and off[0] != 0:
        raise RuntimeError(
            "embedding_bag: offsets[0] has to be 0, i.e., the first sequence in the mini-batch "
            f"has to start from position 0. However, got {off[0]}"
        )
    if off.size and off[-1] > m:
        raise RuntimeError(
            f"embedding_bag: offsets[-1] can not be greater than input's length {m} but got "
            f"offsets[-1] of {off[-1]}"
        )
    if include_last_offset and (off.size == 0 or off[-1] != m):
        # PyTorch's kernels disagree with each other on entries past the last offset
        raise RuntimeError(
            "embedding_bag: with include_last_offset=True, offsets[-1] must equal the input's "
            f"length {m}, but got offsets {off.tolist()}"
        )
    if np.any(np.diff(off) < 0):
        raise RuntimeError(f"embedding_bag: offsets must be non-decreasing, got {off.tolist()}")
    starts = off[:-1] if include_last_offset else off
    sizes = np.diff(np.append(starts, m)).astype(np.int64)
    return idx, np.repeat(np.arange(starts.size), sizes), starts.size


def _check_indices(idx, weight, padding_idx):
    if idx.dtype.kind not in "iu":
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got {idx.dtype} instead (while checking arguments for "
            "embedding_bag)"
        )
    n = weight.shape[0]
    bad = (idx < 0) | (idx >= n)
    if bad.any():
        i = int(np.flatnonzero(bad.reshape(-1))[0])
        raise RuntimeError(
            f"embedding_bag: index {i} of input takes value {idx.reshape(-1)[i]}, which is not "
            f"in the valid range [0, {n})"
        )
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise RuntimeError(
                f"embedding_bag: padding_idx must be within the number of embeddings, {-n} "
                f"through {n - 1}, but got {padding_idx}"
            )
        padding_idx %= n
    return padding_idx


def embedding_bag(
    input,
    weight,
    offsets=None,
    max_norm=None,
    norm_type=2,
    scale_grad_by_freq=False,
    mode="mean",
    sparse=False,
    per_sample_weights=None,
    include_last_offset=False,
    padding_idx=None,
):
    """Sums, means or maxima of bags of rows of ``weight`` (a dense gradient even if sparse)."""
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"embedding_bag: mode has to be one of sum, mean or max, got {mode!r}")
    idx = _array(input)
    padding_idx = _check_indices(idx, weight, padding_idx)
    if per_sample_weights is not None:
        if tuple(per_sample_weights.shape) != idx.shape:
            raise ValueError(
                f"embedding_bag: per_sample_weights of shape {list(per_sample_weights.shape)} "
                f"must have the same shape as the input {list(idx.shape)}"
            )
        if mode != "sum":
            raise NotImplementedError(
                "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                f"supported for mode='sum' (got mode={mode!r})"
            )
        if per_sample_weights.dtype != weight.dtype:
            raise RuntimeError(
                f"embedding_bag: per_sample_weights ({per_sample_weights.dtype}) must have the "
                f"dtype of weight ({weight.dtype})"
            )
    if scale_grad_by_freq and mode == "max":
        raise ValueError("embedding_bag: max mode does not support scaling the gradient by the "
                         "frequency")  # fmt: skip
    flat, bag, num_bags = _bags(idx, offsets, include_last_offset)
    if max_norm is not None:
        renorm_rows_(weight, idx, max_norm, norm_type)
    keep = np.arange(flat.size) if padding_idx is None else np.flatnonzero(flat != padding_idx)
    flat, bag = flat[keep], bag[keep]
    rows = Embedding.apply(weight, flat, None)
    if scale_grad_by_freq:
        counts = np.bincount(flat, minlength=weight.shape[0])
        rows = _ScaleGrad.apply(rows, (1.0 / counts[flat])[:, None])
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.reshape(-1)[wrap(keep)].unsqueeze(1)
    sizes = np.bincount(bag, minlength=num_bags)
    filled = np.flatnonzero(sizes)
    starts = (np.cumsum(sizes) - sizes)[filled]
    if mode == "max":
        return _SegmentMax.apply(rows, bag, starts, filled, num_bags)
    out = _SegmentSum.apply(rows, bag, starts, filled, num_bags)
    if mode == "mean":
        out = out / wrap(np.maximum(sizes, 1).astype(out._data.dtype)[:, None]).to(out.device)
    return out
