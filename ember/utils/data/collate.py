"""default_collate and default_convert: samples to batched tensors, recursing into containers.

Errors name the field at fault as a path into the sample, e.g. ``sample['image']`` or
``sample[1]``, and the entries whose shapes or types disagree.
"""

import collections.abc

import numpy as np

from ember._dtype import float64
from ember._tensor import Tensor

__all__ = ["default_collate", "default_convert"]

_ERR_TYPES = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _where(path):
    return f"field sample{path}: " if path else ""


def _stack(batch, path):
    """Stack equal-shaped tensors, or NumPy arrays, along a new dim 0. (The checks are set
    comprehensions, a loop in C each; a failing one finds the entry at fault.)"""
    from ember import _dtype
    from ember._ops.creation import as_tensor
    from ember._ops.shape import stack, stack_arrays

    first = batch[0]
    kind = Tensor if isinstance(first, Tensor) else np.ndarray
    if len({b.__class__ for b in batch}) > 1:
        _check_kinds(batch, kind, path)
    arrays = [b._data for b in batch] if kind is Tensor else batch
    if len({a.shape for a in arrays}) > 1:
        _check_shapes(arrays, path)
    if kind is Tensor and (
        arrays[0].__class__ is not np.ndarray or True in {t._requires_grad for t in batch}
    ):
        return stack(batch, 0)
    if len({a.dtype for a in arrays}) > 1:
        dt = _dtype.result_type(*[as_tensor(a) for a in arrays]).np
        arrays = [a.astype(dt, copy=False) for a in arrays]
    return as_tensor(stack_arrays(arrays))


def _check_kinds(batch, kind, path):
    for i, b in enumerate(batch):
        if not isinstance(b, kind):
            raise TypeError(
                f"default_collate: {_where(path)}expected every entry to be a {kind.__name__} "
                f"like entry 0, but entry {i} is {type(b).__name__}"
            )


def _check_shapes(arrays, path):
    shape = arrays[0].shape
    for i, a in enumerate(arrays):
        if a.shape != shape:
            raise RuntimeError(
                f"default_collate: {_where(path)}stack expects each tensor to be equal size, but "
                f"got {list(shape)} at entry 0 and {list(a.shape)} at entry {i}"
            )


def _collate(batch, path):
    from ember._ops.creation import as_tensor, tensor

    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack(batch, path)
    if isinstance(elem, np.ndarray) and not isinstance(elem, np.str_ | np.bytes_):
        if elem.dtype.kind in "SaUO":
            raise TypeError(_ERR_TYPES.format(elem.dtype))
        return _stack(batch, path)
    if isinstance(elem, np.generic) and not isinstance(elem, np.str_ | np.bytes_):
        return as_tensor(np.array(batch))
    if isinstance(elem, float):
        return tensor(batch, dtype=float64)
    if isinstance(elem, int):
        return tensor(batch)
    if isinstance(elem, str | bytes):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        out = {k: _collate([d[k] for d in batch], f"{path}[{k!r}]") for k in elem}
        try:
            return type(elem)(out)
        except TypeError:
            return out
    if _is_namedtuple(elem):
        return type(elem)(
            *(_collate(list(s), f"{path}.{f}") for f, s in zip(elem._fields, zip(*batch)))
        )
    if isinstance(elem, collections.abc.Sequence):
        sizes = [len(b) for b in batch]
        for i, n in enumerate(sizes):
            if n != sizes[0]:
                raise RuntimeError(
                    f"each element in list of batch should be of equal size ({_where(path)}"
                    f"entry 0 has {sizes[0]} elements, entry {i} has {n})"
                )
        out = [_collate(list(s), f"{path}[{j}]") for j, s in enumerate(zip(*batch))]
        if isinstance(elem, tuple):
            return out
        try:
            return type(elem)(out)
        except TypeError:
            return out
    raise TypeError(_ERR_TYPES.format(type(elem)))


def default_collate(batch):
    """Stack a list of samples into a batch: tensors, arrays and numbers become tensors with a
    leading batch dim; dicts, namedtuples and sequences are collated field by field."""
    return _collate(batch, "")


def default_convert(data):
    """Turn NumPy arrays and scalars into tensors, recursing into containers (no batching)."""
    from ember._ops.creation import as_tensor

    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray | np.generic) and not isinstance(data, np.str_ | np.bytes_):
        return data if data.dtype.kind in "SaUO" else as_tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        out = {k: default_convert(v) for k, v in data.items()}
        try:
            return type(data)(out)
        except TypeError:
            return out
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, str | bytes):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
