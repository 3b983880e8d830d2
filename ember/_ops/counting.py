"""Counting and membership: `bincount` and `isin` (integer results, not differentiable)."""

import numpy as np

from ember._tensor import Tensor, wrap

__all__ = ["bincount", "isin"]


def bincount(input, weights=None, minlength=0):
    """How often each value 0..max(input) occurs (or the sum of ``weights`` at each)."""
    a = input._data
    if a.ndim != 1 or a.dtype.kind not in "iu" or (a.size and a.min() < 0):
        if a.dtype.kind == "f":
            kind = {"float16": "Half", "float64": "Double"}.get(a.dtype.name, "Float")
            raise NotImplementedError(f"\"bincount_cpu\" not implemented for '{kind}'")
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if minlength < 0:
        raise RuntimeError(f"bincount: minlength should be >= 0, got {minlength}")
    if weights is None:
        return wrap(np.bincount(a, minlength=minlength).astype(np.int64))
    w = weights._data
    if w.shape != a.shape:
        raise RuntimeError(
            f"bincount: weights should be 1-d and have the same length as input, got "
            f"{tuple(w.shape)} for input {tuple(a.shape)}"
        )
    dtype = w.dtype if w.dtype.kind == "f" else np.float64
    return wrap(np.bincount(a, weights=w.astype(np.float64), minlength=minlength).astype(dtype))


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each of ``elements`` occurs in ``test_elements`` (either may be a number)."""
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError("isin: at least one of elements and test_elements must be a Tensor")
    e = elements._data if isinstance(elements, Tensor) else np.asarray(elements)
    t = test_elements._data if isinstance(test_elements, Tensor) else np.asarray(test_elements)
    found = np.isin(e, t, assume_unique=assume_unique, invert=invert)
    return wrap(np.asarray(found, dtype=bool))
