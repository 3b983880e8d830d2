"""Tensors built from others: Vandermonde matrices, diagonal and block-diagonal matrices,
Cartesian products and combinations of elements, and flat indices unravelled into
coordinates."""

import itertools

import numpy as np

from ember import _dtype
from ember._ops import shape
from ember._ops._util import norm_dim
from ember._ops.reduce import cumprod
from ember._tensor import Tensor, wrap

__all__ = [
    "vander", "diagflat", "diag_embed", "block_diag", "cartesian_prod", "combinations",
    "unravel_index",
]  # fmt: skip


def vander(x, N=None, increasing=False):
    """The Vandermonde matrix of the 1-D ``x``: columns x**(N-1), ..., x**0 (reversed when
    ``increasing``)."""
    if x.dim() != 1:
        raise RuntimeError(f"x must be a one-dimensional tensor, but got {x.dim()} dimensions")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError(f"N must be non-negative, but got {n}")
    if x._data.dtype.kind in "biu":
        x = x.to(_dtype.int64)  # integer powers are computed in int64, as in PyTorch
    ones = x.new_ones((x.shape[0], min(n, 1)))
    if n > 1:
        powers = cumprod(x.unsqueeze(1).expand((x.shape[0], n - 1)), 1)
        result = shape.cat([ones, powers], 1)
    else:
        result = ones
    return result if increasing else result.flip(1)


def diagflat(input, offset=0):
    """A 2-D matrix with the flattened ``input`` on diagonal ``offset``."""
    return shape.diag(input.reshape(-1), offset)


def block_diag(*tensors):
    """A block-diagonal matrix of the given 0-, 1- or 2-D tensors, in order."""
    blocks = []
    for i, t in enumerate(tensors):
        if t.dim() > 2:
            raise RuntimeError(
                "torch.block_diag: Input tensors must have 2 or fewer dimensions. Input "
                f"{i} has {t.dim()} dimensions"
            )
        blocks.append(t.reshape(1, -1) if t.dim() < 2 else t)
    if not blocks:
        return wrap(np.empty((1, 0), _dtype.get_default_dtype().np))
    dt = _dtype.result_type(*blocks)
    width = sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        r, c = b.shape
        right = width - left - c
        pieces = [b.new_zeros((r, left), dtype=dt), b.to(dt), b.new_zeros((r, right), dtype=dt)]
        rows.append(shape.cat(pieces, 1))
        left += c
    return shape.cat(rows, 0)


def _require_1d(op, tensors):
    for t in tensors:
        if t.dim() != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")


def cartesian_prod(*tensors):
    """Every combination of one element from each 1-D tensor, one per row (``itertools.product``
    order)."""
    _require_1d("cartesian_prod", tensors)
    if len(tensors) == 1:
        return tensors[0]
    grids = shape.meshgrid(*tensors, indexing="ij")
    return shape.stack([g.reshape(-1) for g in grids], 1)


def combinations(input, r=2, with_replacement=False):
    """The length-``r`` combinations of the 1-D ``input``'s elements, one per row."""
    if input.dim() != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return input.new_empty((0,))
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    idx = np.array(list(pick(range(input.shape[0]), r)), dtype=np.int64).reshape(-1, r)
    return input[wrap(idx)]


def unravel_index(indices, shape):
    """The coordinates, one tensor per dim of ``shape``, of flat (C-order) ``indices``."""
    if not isinstance(indices, Tensor):
        indices = wrap(np.asarray(indices))
    if indices._data.dtype.kind not in "iu" or indices._data.dtype == np.bool_:
        raise TypeError(f"expected 'indices' to be integer dtype, but got {indices.dtype}")
    dims = (shape,) if isinstance(shape, int) else tuple(int(s) for s in shape)
    if any(s < 0 for s in dims):
        raise ValueError(f"'shape' cannot have negative values, but got {tuple(dims)}")
    total = int(np.prod(dims))
    flat = indices._data.astype(np.int64)
    if flat.size and (flat.min() < -total or flat.max() >= total):
        raise RuntimeError(
            f"'indices' must be in range [-{total}, {total - 1}] for shape {tuple(dims)}"
        )
    coords = np.unravel_index(np.where(flat < 0, flat + total, flat), dims)
    return tuple(wrap(np.asarray(c, dtype=np.int64)) for c in coords)


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """A tensor whose diagonals (``offset``) in the planes of dims ``dim1`` and ``dim2`` of the
    result hold ``input``'s last dim."""
    d1, d2 = (
        norm_dim(dim1, input.dim() + 1, "diag_embed"),
        norm_dim(dim2, input.dim() + 1, "diag_embed"),
    )
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return shape.diag_embed(input, offset).movedim((-2, -1), (d1, d2))


METHODS = {"diagflat": diagflat, "diag_embed": diag_embed}
"""Tensor methods of this family, bound by ``_methods.py``."""
