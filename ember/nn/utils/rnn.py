"""Variable-length sequences: padding, packing and unpacking, as in ``torch.nn.utils.rnn``.

A packed batch stores the sequences sorted by decreasing length, time-major: the rows of step
t are the first ``batch_sizes[t]`` sequences at that step. Every conversion below is one
gather (advanced indexing with an index table from ``ember._ops.packed_sequence``), so it is
differentiable and has no Python loop over sequences or steps.
"""

from collections import namedtuple

from ember._ops import packed_sequence as tables
from ember._ops.creation import as_tensor, full
from ember._ops.shape import cat
from ember._tensor import Tensor

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
    return tables.invert_permutation(permutation)


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
        batch_sizes = tables.as_batch_sizes(batch_sizes)
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


def _with_pad_row(data, value):
    """``data`` with one more row of ``value`` at the end, the target of padding positions."""
    pad = full((1, *data.shape[1:]), value, dtype=data.dtype, device=data.device)
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
    index = tables.padded_index([s.shape[0] for s in sequences], padding_side, batch_first)
    return _with_pad_row(cat(sequences, 0), padding_value)[index]


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """Split a padded batch back into a list of tensors of their own lengths."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [seq[:n] for seq, n in zip(padded_sequences, as_tensor(lengths).tolist())]


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (T, B, *) (or (B, T, *) if batch_first) of the given lengths."""
    if input.dim() < 2:
        raise ValueError(
            f"pack_padded_sequence: expected input of at least 2 dimensions, got {input.dim()}D"
        )
    b_dim, t_dim = (0, 1) if batch_first else (1, 0)
    rows, steps, batch_sizes, sorted_indices = tables.packing(
        lengths, input.shape[b_dim], input.shape[t_dim], enforce_sorted
    )
    data = input[rows, steps] if batch_first else input[steps, rows]
    return PackedSequence(data, batch_sizes, sorted_indices, None)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """Undo :func:`pack_padded_sequence`: returns the padded batch and the lengths."""
    index, lengths = tables.unpacking(
        sequence.batch_sizes, sequence.unsorted_indices, total_length, batch_first
    )
    return _with_pad_row(sequence.data, padding_value)[index], lengths


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of tensors of shape (L_i, *)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """Undo :func:`pack_sequence`: a list of tensors of their own lengths."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
