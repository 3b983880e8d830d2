"""Splits along a named axis (hsplit, vsplit, dsplit, split_with_sizes and the ``unsafe_``
forms), the stacking aliases, and the ``*_copy`` ops: each view op's result as a fresh,
contiguous tensor with the view's gradient."""

import numpy as np

from ember._ops import shape
from ember._ops._numpy_kwargs import numpy_kwargs
from ember._ops._util import norm_dim
from ember._ops.unfold import unfold
from ember._tensor import wrap

__all__ = [
    "hsplit", "vsplit", "dsplit", "row_stack", "atleast_3d", "split_with_sizes",
    "unsafe_chunk", "unsafe_split", "unsafe_split_with_sizes", "view_copy", "permute_copy",
    "t_copy", "transpose_copy", "unsqueeze_copy", "squeeze_copy", "expand_copy", "select_copy",
    "slice_copy", "diagonal_copy", "detach_copy", "alias_copy", "unbind_copy", "split_copy",
    "split_with_sizes_copy", "narrow_copy", "as_strided_copy", "unfold_copy",
]  # fmt: skip


def _split_along(op, input, indices_or_sections, dim, min_dims):
    if input.dim() < min_dims:
        raise RuntimeError(
            f"torch.{op} requires a tensor with at least {min_dims} dimension"
            f"{'s' if min_dims > 1 else ''}, but got a tensor with {input.dim()} dimensions!"
        )
    if isinstance(indices_or_sections, int | np.integer):
        n = input.shape[dim]
        if indices_or_sections == 0 or n % indices_or_sections:
            raise RuntimeError(
                f"torch.{op} attempted to split along dimension {dim}, but the size of the "
                f"dimension {n} is not divisible by the split_size {indices_or_sections}!"
            )
    return shape.tensor_split(input, indices_or_sections, dim)


def hsplit(input, indices_or_sections):
    """Split along dim 1 (dim 0 for 1-D tensors)."""
    dim = 1 if input.dim() >= 2 else 0
    return _split_along("hsplit", input, indices_or_sections, dim, 1)


def vsplit(input, indices_or_sections):
    """Split along dim 0 of a tensor with at least 2 dims."""
    return _split_along("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input, indices_or_sections):
    """Split along dim 2 of a tensor with at least 3 dims."""
    return _split_along("dsplit", input, indices_or_sections, 2, 3)


row_stack = shape.vstack


def atleast_3d(*tensors):
    """Each tensor with at least 3 dims: () -> (1, 1, 1), (n,) -> (1, n, 1), (m, n) -> (m, n, 1)."""
    if len(tensors) == 1 and isinstance(tensors[0], list | tuple):
        return tuple(atleast_3d(t) for t in tensors[0])
    if len(tensors) != 1:
        return tuple(atleast_3d(t) for t in tensors)
    t = tensors[0]
    if t.dim() == 0:
        return t.reshape(1, 1, 1)
    if t.dim() == 1:
        return t.reshape(1, -1, 1)
    if t.dim() == 2:
        return t.unsqueeze(-1)
    return t


@numpy_kwargs
def split_with_sizes(input, split_sizes, dim=0):
    """Pieces of the given sizes along ``dim``; the sizes must add up to its length."""
    if isinstance(split_sizes, int):
        raise TypeError(
            "split_with_sizes(): argument 'split_sizes' must be tuple of ints, but found int"
        )
    return shape.split(input, list(split_sizes), dim)


unsafe_chunk = shape.chunk
unsafe_split = shape.split
unsafe_split_with_sizes = split_with_sizes


def _copy(view):
    return shape.clone(view)


def view_copy(input, size):
    """``input.view(size)`` (a shape or a dtype), as a copy."""
    return _copy(input.view(size))


def permute_copy(input, dims):
    return _copy(input.permute(dims))


def t_copy(input):
    return _copy(input.t())


def transpose_copy(input, dim0, dim1):
    return _copy(input.transpose(dim0, dim1))


@numpy_kwargs
def unsqueeze_copy(input, dim):
    return _copy(input.unsqueeze(dim))


@numpy_kwargs
def squeeze_copy(input, dim=None):
    return _copy(input.squeeze(dim) if dim is not None else input.squeeze())


def expand_copy(input, size, *, implicit=False):
    return _copy(input.expand(size))


@numpy_kwargs
def select_copy(input, dim, index):
    return _copy(input.select(dim, index))


@numpy_kwargs
def slice_copy(input, dim=0, start=None, end=None, step=1):
    """``input[..., start:end:step, ...]`` along ``dim``, as a copy."""
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    d = norm_dim(dim, input.dim(), "slice_copy")
    return _copy(input[(slice(None),) * d + (slice(start, end, step),)])


def diagonal_copy(input, offset=0, dim1=0, dim2=1):
    return _copy(input.diagonal(offset, dim1, dim2))


def detach_copy(input):
    return _copy(input.detach())


def alias_copy(input):
    return _copy(input)


@numpy_kwargs
def unbind_copy(input, dim=0):
    return tuple(_copy(t) for t in input.unbind(dim))


@numpy_kwargs
def split_copy(input, split_size, dim=0):
    return tuple(_copy(t) for t in shape.split(input, split_size, dim))


@numpy_kwargs
def split_with_sizes_copy(input, split_sizes, dim=0):
    return tuple(_copy(t) for t in split_with_sizes(input, split_sizes, dim))


@numpy_kwargs
def narrow_copy(input, dim, start, length):
    return _copy(input.narrow(dim, start, length))


def unfold_copy(input, dimension, size, step):
    return _copy(unfold(input, dimension, size, step))


def strided_positions(op, input, size, stride, storage_offset):
    """Flat (row-major) positions in ``input`` of the elements of ``as_strided(size, stride,
    storage_offset)``, checked to lie inside ``input``."""
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(
            f"{op}: mismatch in length of strides and shape: size {list(size)} has "
            f"{len(size)} dims, stride {list(stride)} has {len(stride)}"
        )
    if any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise RuntimeError(
            f"{op}: negative sizes or strides are not supported: {list(size)}, {list(stride)}"
        )
    offset = 0 if storage_offset is None else int(storage_offset)
    positions = np.full(size, offset, np.int64)
    for d, (n, s) in enumerate(zip(size, stride)):
        view = [1] * len(size)
        view[d] = n
        positions = positions + (np.arange(n, dtype=np.int64) * s).reshape(view)
    numel = input.numel()
    needed = int(positions.max()) + 1 if positions.size else 0
    if offset < 0 or needed > numel:
        raise RuntimeError(
            f"{op}: sizes {list(size)}, strides {list(stride)} and storage offset {offset} "
            f"need {needed} elements, but the input has {numel}"
        )
    return positions


def as_strided_copy(input, size, stride, storage_offset=None):
    """The elements ``as_strided`` would view, copied; positions count ``input``'s elements in
    row-major order (see docs/compat.md)."""
    positions = strided_positions("as_strided_copy", input, size, stride, storage_offset)
    return input.reshape(-1)[wrap(positions)]


METHODS = {
    "hsplit": hsplit, "vsplit": vsplit, "dsplit": dsplit, "split_with_sizes": split_with_sizes,
    "unsafe_chunk": unsafe_chunk, "unsafe_split": unsafe_split,
    "unsafe_split_with_sizes": unsafe_split_with_sizes, "narrow_copy": narrow_copy,
}  # fmt: skip
"""Tensor methods of this family, bound by ``_methods.py``."""
