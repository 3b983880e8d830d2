"""Small functions shared by the op families: dims, dtype casts, argument forms, layouts."""

import operator

import numpy as np

from ember import _dtype
from ember._tensor import Tensor, _array_from, wrap
from ember._tensor import _norm_dim as norm_dim


def norm_dims(dim, ndim, op="dim"):
    """A tuple of non-negative dims from an int, a sequence, or None (all dims)."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int | np.integer):
        return (norm_dim(int(dim), ndim, op),)
    dims = tuple(norm_dim(int(d), ndim, op) for d in dim)
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"{op}: dim {list(dim)} appears multiple times in the list of dims")
    return dims


def as_tensor_arg(x, like=None):
    """A Tensor from a Tensor, NumPy array or Python number (numbers take ``like``'s dtype)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return wrap(x)
    if like is not None:
        return wrap(np.asarray(x, dtype=like._data.dtype))
    return wrap(_array_from(x))


def float_np(arr):
    """``arr`` as the default float dtype when it holds integers or bools (exp of an int tensor)."""
    if arr.dtype.kind in "iub":
        return arr.astype(_dtype.get_default_dtype().np)
    return arr


def int_sizes(args):
    """The sizes of ``f(2, 3)`` or ``f((2, 3))`` as a tuple when every one is a plain Python
    int (the common case, taken as it is), else None."""
    if len(args) == 1 and isinstance(args[0], tuple | list):
        args = args[0]
    for a in args:
        if a.__class__ is not int:
            return None
    return tuple(args)


def shape_arg(args, op="view"):
    """Sizes given either as ``f(2, 3)`` or ``f((2, 3))``: ints, NumPy ints or integer
    tensors of one element; a float or a bool is refused, as PyTorch does, rather than
    truncated."""
    sizes = int_sizes(args)
    if sizes is not None:
        return sizes
    if len(args) == 1 and isinstance(args[0], tuple | list):
        args = args[0]
    try:
        return tuple(_size(a) for a in args)
    except TypeError:
        raise TypeError(f"{op}(): argument 'size' must be a tuple of ints, got {args!r}") from None


def _size(a):
    if a.__class__ is bool:
        raise TypeError("a bool is not a size")
    return operator.index(a)


def np_dtype(dtype):
    return None if dtype is None else _dtype.to_dtype(dtype).np


def is_channels_last(a):
    """Whether a 4-D array is an (N, C, H, W) view of (N, H, W, C) memory (and not also NCHW)."""
    return a.ndim == 4 and not a.flags.c_contiguous and a.transpose(0, 2, 3, 1).flags.c_contiguous


def in_layout_of(out, like):
    """``out``, an (N, C, H, W) view of channels-last memory, in the memory layout of ``like``.

    As in PyTorch, a convolution's result (and an input's gradient) is contiguous unless the
    input was channels-last; ember's kernels work channels-last, and returning their layout
    as-is would make ``view`` of a contiguous-looking result fail.
    """
    return out if is_channels_last(like) else np.ascontiguousarray(out)
