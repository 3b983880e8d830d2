"""Variable-length sequences: padding, packing and unpacking, as in ``torch.nn.utils.rnn``.

A packed batch stores the sequences sorted by decreasing length, time-major: the rows of step
t are the first ``batch_sizes[t]`` sequences at that step. Every conversion below is one
gather (advanced indexing with a NumPy index table), so it is differentiable and has no
Python loop over sequences or steps.
"""

from collections import namedtuple

import numpy as np

from ember._ops.shape import cat
from ember._tensor import Tensor, wrap

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pad_sequence",
    "unpad_sequence",
    "pack_padded_sequence",
    "pad_packed_sequence",
    "pack_sequence",
    "unpack_sequence",
]

_PackedSequenceBase = namedtuple(
    "PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"]
)


def invert_permutation(permutation):
    """The permutation that undoes ``permutation`` (None stays None)."""
    if permutation is None:
        return None
    perm = _as_int_array(permutation)
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(len(perm))
    return wrap(inverse)


def _as_int_array(x):
    return np.asarray(x._data if isinstance(x, Tensor) else x, dtype=np.int64)


class PackedSequence(_PackedSequenceBase):
    """Data and batch sizes of a packed batch of variable-length sequences.

    Build one with :func:`pack_padded_sequence` or :func:`pack_sequence`. ``sorted_indices``
    maps a position in the length-sorted batch to the original batch position;
    ``unsorted_indices`` is its inverse.
    """

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # (data, batch_sizes) as one tuple
            data, batch_sizes = data
        if not isinstance(batch_sizes, Tensor):
            batch_sizes = wrap(_as_int_array(batch_sizes))
        elif batch_sizes.dtype.is_floating_point or batch_sizes.dim() != 1:
            raise ValueError(
                "batch_sizes should always be a 1D int64 tensor on the CPU, got "
                f"{batch_sizes.dim()}D {batch_sizes.dtype}"
            )
        for name, idx in (
            ("sorted_indices", sorted_indices),
            ("unsorted_indices", unsorted_indices),
        ):
            if idx is not None and not isinstance(idx, Tensor):
                raise TypeError(f"PackedSequence: {name} must be a Tensor or None")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def _with_data(self, data):
        return type(self)(data, self.batch_sizes, self.sorted_indices, self.unsorted_indices)

    def to(self, *args, **kwargs):
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else self._with_data(data)

    def cpu(self):
        return self._with_data(self.data.cpu())

    def cuda(self, *args, **kwargs):
        return self._with_data(self.data.cuda(*args, **kwargs))

    def double(self):
        return self._with_data(self.data.double())

    def float(self):
        return self._with_data(self.data.float())

    def half(self):
        return self._with_data(self.data.half())

    def long(self):
        return self._with_data(self.data.long())

    def int(self):
        return self._with_data(self.data.int())

    @property
    def is_cuda(self):
        return self.data.is_cuda

    def is_pinned(self):
        return False


def _tables(batch_sizes):
    """Index tables of a packed batch with batch sizes ``bs`` (T,) and N rows in all.

    Returns ``index`` (T, B): the packed row of step t of sorted sequence b, or N where that
    sequence has already ended; ``lengths`` (B,) of the sorted sequences; and ``t_of``,
    ``b_of`` (N,): the step and sorted sequence of each packed row.
    """
    bs = _as_int_array(batch_sizes)
    B, N = int(bs[0]), int(bs.sum())
    cols = np.arange(B)
    valid = cols[None, :] < bs[:, None]
    offsets = np.concatenate([[0], np.cumsum(bs)[:-1]])
    index = np.where(valid, offsets[:, None] + cols[None, :], N)
    lengths = valid.sum(0)
    t_of, b_of = np.nonzero(valid)
    return index, lengths, t_of, b_of


def _reversed_index(index, lengths, pad_row):
    """``index`` with each sequence read backwards from its own last step, then ``pad_row``."""
    T, B = index.shape
    src = lengths[None, :] - 1 - np.arange(T)[:, None]
    valid = src >= 0
    return np.where(valid, index[np.maximum(src, 0), np.arange(B)[None, :]], pad_row)


def _with_pad_row(data, value):
    pad = wrap(np.full((1,) + tuple(data.shape[1:]), value, dtype=data._data.dtype))
    return cat([data, pad], 0)


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors of shape (L_i, *) into (L_max, B, *), or (B, L_max, *) if batch_first."""
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise ValueError(
            f"Expected padding_side to be one of left or right, but got {padding_side}."
        )
    trailing = tuple(sequences[0].shape[1:])
    for i, s in enumerate(sequences):
        if s.dim() == 0 or tuple(s.shape[1:]) != trailing:
            raise RuntimeError(
                "pad_sequence: all sequences must have the same trailing shape; sequence 0 "
                f"has {list(sequences[0].shape)} and sequence {i} has {list(s.shape)}"
            )
    lengths = np.array([s.shape[0] for s in sequences], dtype=np.int64)
    T, N = int(lengths.max()), int(lengths.sum())
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    steps = np.arange(T)[None, :]
    if padding_side == "left":
        steps = steps - (T - lengths[:, None])
    valid = (steps >= 0) & (steps < lengths[:, None])
    index = np.where(valid, starts[:, None] + steps, N)  # (B, T)
    flat = _with_pad_row(cat(sequences, 0), padding_value)
    return flat[index if batch_first else index.T]


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """Split a padded batch back into a list of tensors of their own lengths."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq[:n] for seq, n in zip(padded_sequences, _as_int_array(lengths).tolist())]


def _check_lengths(lengths, batch_size, total):
    if isinstance(lengths, Tensor) and (lengths.dtype.is_floating_point or lengths.dim() != 1):
        raise RuntimeError(
            "'lengths' argument should be a 1D CPU int64 tensor, but got "
            f"{lengths.dim()}D {lengths.dtype} tensor"
        )
    lengths = _as_int_array(lengths)
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


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (T, B, *) (or (B, T, *) if batch_first) of the given lengths."""
    if input.dim() < 2:
        raise ValueError(
            f"pack_padded_sequence: expected input of at least 2 dimensions, got {input.dim()}D"
        )
    b_dim, t_dim = (0, 1) if batch_first else (1, 0)
    lengths = _check_lengths(lengths, input.shape[b_dim], input.shape[t_dim])
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
    rows = order[b_of]
    data = input[rows, t_of] if batch_first else input[t_of, rows]
    return PackedSequence(data, wrap(batch_sizes.astype(np.int64)), sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Undo :func:`pack_padded_sequence`: returns the padded batch and the lengths."""
    index, lengths, _, _ = _tables(sequence.batch_sizes)
    T = index.shape[0]
    if total_length is not None:
        if total_length < T:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being {T}"
            )
        pad = np.full((total_length - T, index.shape[1]), len(sequence.data))
        index = np.concatenate([index, pad], 0)
    if sequence.unsorted_indices is not None:
        order = _as_int_array(sequence.unsorted_indices)
        index, lengths = index[:, order], lengths[order]
    flat = _with_pad_row(sequence.data, padding_value)
    return flat[index.T if batch_first else index], wrap(lengths.astype(np.int64))


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of tensors of shape (L_i, *)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """Undo :func:`pack_sequence`: a list of tensors of their own lengths."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
