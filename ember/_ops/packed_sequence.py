"""Index tables of packed and padded variable-length batches (``nn.utils.rnn``, packed RNNs).

A packed batch stores the sequences sorted by decreasing length, time-major: the rows of step
t are the first ``batch_sizes[t]`` sequences at that step. Each conversion between packed,
padded and per-sequence forms is one gather whose index table is computed here with a few
array calls, with no Python loop over sequences or steps; the gathers themselves are ember
ops, so they are differentiable.
"""

import numpy as np

from ember._tensor import Tensor, wrap

__all__ = []


def _ints(x):
    return np.asarray(x._data if isinstance(x, Tensor) else x, dtype=np.int64)


def invert_permutation(permutation):
    """The int64 tensor that undoes ``permutation`` (None stays None)."""
    if permutation is None:
        return None
    perm = _ints(permutation)
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(len(perm))
    return wrap(inverse)


def as_batch_sizes(batch_sizes):
    """``batch_sizes`` as a 1-D int64 tensor, as a PackedSequence keeps them."""
    if not isinstance(batch_sizes, Tensor):
        return wrap(_ints(batch_sizes))
    if batch_sizes.dtype.is_floating_point or batch_sizes.dim() != 1:
        raise ValueError(
            "batch_sizes should always be a 1D int64 tensor on the CPU, got "
            f"{batch_sizes.dim()}D {batch_sizes.dtype}"
        )
    return batch_sizes


def _tables(batch_sizes):
    """(index, lengths, t_of, b_of) of a packed batch, as described in PackedLayout."""
    bs = _ints(batch_sizes)
    batch, rows = int(bs[0]), int(bs.sum())
    cols = np.arange(batch)
    valid = cols[None, :] < bs[:, None]
    offsets = np.concatenate([[0], np.cumsum(bs)[:-1]])
    t_of, b_of = np.nonzero(valid)
    return np.where(valid, offsets[:, None] + cols[None, :], rows), valid.sum(0), t_of, b_of


class PackedLayout:
    """Where each row of a packed batch stands, for the gathers of a packed RNN.

    ``index`` (T, B): the packed row of step t of sorted sequence b, or N (a padding row
    appended after the N packed rows) where that sequence has ended; ``reverse_index`` the
    same with each sequence read backwards from its own last step; ``lengths`` (B,);
    ``last`` (B,): each sequence's last step; ``t_of``, ``b_of`` (N,): the step and sorted
    sequence of each packed row, and ``reverse_t_of`` that step counted from the sequence's
    end. All are index arrays for ember's indexing and the recurrent ops.
    """

    def __init__(self, batch_sizes):
        self.index, self.lengths, self.t_of, self.b_of = _tables(batch_sizes)
        steps, batch = self.index.shape
        self.last = self.lengths - 1
        self.reverse_t_of = self.last[self.b_of] - self.t_of
        src = self.last[None, :] - np.arange(steps)[:, None]
        rows = len(self.t_of)
        self.reverse_index = np.where(
            src >= 0, self.index[np.maximum(src, 0), np.arange(batch)], rows
        )

    @property
    def batch(self):
        return self.index.shape[1]


def padded_index(lengths, padding_side, batch_first):
    """Gather index from the concatenated sequences (plus one padding row) to their padded
    batch, (B, T) if ``batch_first`` else (T, B)."""
    lengths = np.array(lengths, dtype=np.int64)
    steps_max, rows = int(lengths.max()), int(lengths.sum())
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    steps = np.arange(steps_max)[None, :]
    if padding_side == "left":
        steps = steps - (steps_max - lengths[:, None])
    valid = (steps >= 0) & (steps < lengths[:, None])
    index = np.where(valid, starts[:, None] + steps, rows)
    return index if batch_first else index.T


def _check_lengths(lengths, batch_size, total):
    if isinstance(lengths, Tensor) and (lengths.dtype.is_floating_point or lengths.dim() != 1):
        raise RuntimeError(
            "'lengths' argument should be a 1D CPU int64 tensor, but got "
            f"{lengths.dim()}D {lengths.dtype} tensor"
        )
    lengths = _ints(lengths)
    if lengths.ndim != 1 or len(lengths) != batch_size:
        raise RuntimeError(
            f"Expected `len(lengths)` to be equal to batch_size, but got {lengths.size} "
            f"(batch_size={batch_size})"
        )
    if (lengths <= 0).any():
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in "
            "'lengths' that is <= 0"
        )
    if lengths.max() > total:
        raise RuntimeError(
            f"pack_padded_sequence: a length of {int(lengths.max())} is longer than the "
            f"padded sequences ({total} steps)"
        )
    return lengths


def packing(lengths, batch_size, total, enforce_sorted):
    """How to pack a padded batch: (rows, steps, batch_sizes, sorted_indices).

    Packed row i is step ``steps[i]`` of padded sequence ``rows[i]``; ``sorted_indices`` is
    None when the lengths were already sorted (``enforce_sorted``)."""
    lengths = _check_lengths(lengths, batch_size, total)
    if enforce_sorted:
        if (np.diff(lengths) > 0).any():
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability."
            )
        order, sorted_indices = np.arange(len(lengths)), None
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_indices = wrap(order.astype(np.int64))
    sorted_lengths = lengths[order]
    batch_sizes = (sorted_lengths[None, :] > np.arange(int(sorted_lengths[0]))[:, None]).sum(1)
    _, _, t_of, b_of = _tables(batch_sizes)
    return order[b_of], t_of, wrap(batch_sizes.astype(np.int64)), sorted_indices


def unpacking(batch_sizes, unsorted_indices, total_length, batch_first):
    """How to unpack: (gather index from the packed rows plus one padding row to the padded
    batch, lengths as an int64 tensor)."""
    index, lengths, t_of, _ = _tables(batch_sizes)
    steps = index.shape[0]
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being "
                f"{steps}"
            )
        pad = np.full((total_length - steps, index.shape[1]), len(t_of))
        index = np.concatenate([index, pad], 0)
    if unsorted_indices is not None:
        order = _ints(unsorted_indices)
        index, lengths = index[:, order], lengths[order]
    return (index.T if batch_first else index), wrap(lengths.astype(np.int64))
