"""Questions about a tensor (is_nonzero, is_same_size, is_signed, is_neg, is_inference, nbytes,
itemsize) and the small tensor utilities PyTorch also offers as top-level functions (fill,
zero_, detach, sum_to_size, new_empty_strided), and Tensor.fill_diagonal_."""

import numpy as np

from ember._ops import comparison, creation
from ember._ops._util import shape_arg
from ember._tensor import Tensor
from ember._tensor import wrap as wrap_array

__all__ = [
    "is_nonzero", "is_same_size", "is_signed", "is_neg", "is_inference", "fill", "fill_",
    "zero_", "detach", "detach_",
]  # fmt: skip


def is_nonzero(input):
    """Whether the one value of a one-element tensor is not zero."""
    n = input.numel()
    if n == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if n > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input._data.reshape(-1)[0] != 0)


def is_same_size(input, other):
    return tuple(input.shape) == tuple(other.shape)


def is_signed(input):
    return input.is_signed()


def is_neg(input):
    """ember never keeps a lazy negation bit: ``resolve_neg`` is always a no-op."""
    return False


def is_inference(input):
    """ember marks no tensor as an inference tensor (see docs/compat.md)."""
    return False


def fill(input, value):
    """A new tensor of ``input``'s shape and dtype filled with ``value`` (a number or a 0-d
    tensor, which receives the sum of the gradient)."""
    if isinstance(value, Tensor) and value.dim() != 0:
        raise RuntimeError(
            "fill only supports 0-dimension value tensor but got tensor with "
            f"{value.dim()} dimensions."
        )
    if isinstance(value, Tensor):
        return comparison.where(input.new_zeros((), dtype=bool), input, value.to(input.dtype))
    return creation.full_like(input, value)


def fill_(input, value):
    return creation.fill_(input, value)


def zero_(input):
    return creation.zero_(input)


def fill_diagonal_(self, fill_value, wrap=False):
    """Write ``fill_value`` on the main diagonal of a matrix (or of an n-d tensor with all dims
    equal); with ``wrap``, a tall matrix's diagonal starts again every ``columns + 1`` rows."""
    dims = tuple(self.shape)
    if len(dims) < 2:
        raise RuntimeError(f"fill_diagonal_: dimensions must larger than 1, got shape {list(dims)}")
    if len(dims) > 2 and len(set(dims)) > 1:
        raise RuntimeError(
            f"fill_diagonal_: all dimensions of input must be of equal length, got shape "
            f"{list(dims)}"
        )
    count = self._data.size
    if len(dims) == 2:
        rows, cols = dims
        step = cols + 1
        if not wrap:
            count = min(rows, cols) * cols
    else:
        step = sum(dims[0] ** k for k in range(len(dims)))
    mask = np.zeros(self._data.size, dtype=bool)
    mask[0:count:step] = True
    return self.masked_fill_(wrap_array(mask.reshape(dims)), fill_value)


def detach(input):
    return input.detach()


def detach_(input):
    return input.detach_()


def sum_to_size(self, *size):
    """``self`` summed over the dims it would be broadcast along to reach ``size``."""
    target = shape_arg(size, "sum_to_size")
    have = tuple(self.shape)
    lead = len(have) - len(target)
    if lead < 0 or any(t not in (1, h) for t, h in zip(target, have[lead:])):
        raise RuntimeError(f"size {{{list(target)}}} is not expandable to size {{{list(have)}}}.")
    dims = tuple(range(lead)) + tuple(
        lead + i for i, (t, h) in enumerate(zip(target, have[lead:])) if t == 1 and h != 1
    )
    out = self.sum(dims, keepdim=True) if dims else self
    return out.reshape(target) if lead else out


def new_empty_strided(self, size, stride, *, dtype=None, layout=None, device=None,
                      requires_grad=False, pin_memory=False):  # fmt: skip
    """An uninitialised tensor of ``size`` with ``self``'s dtype and device unless given."""
    return creation.empty_strided(
        size, stride, dtype=dtype or self.dtype, device=device or self.device,
        requires_grad=requires_grad,
    )  # fmt: skip


def nbytes(self):
    return self._data.size * self._data.itemsize


def itemsize(self):
    return self._data.itemsize


METHODS = {
    "is_nonzero": is_nonzero, "is_same_size": is_same_size, "is_neg": is_neg,
    "is_inference": is_inference, "sum_to_size": sum_to_size,
    "new_empty_strided": new_empty_strided, "fill_diagonal_": fill_diagonal_,
    "nbytes": property(nbytes), "itemsize": property(itemsize),
}  # fmt: skip
"""Tensor methods and properties of this family, bound by ``_methods.py``."""
