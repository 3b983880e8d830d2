"""The container structure of a saved object as JSON, with tensors replaced by references.

JSON has null, booleans, ints, floats, strings and lists of its own; the rest is tagged with a
one-key object: ``{"tuple": [...]}``, ``{"dict": [[key, value], ...]}``, ``{"odict": ...}``
(an OrderedDict), ``{"float": "nan"}`` (non-finite floats), ``{"tensor": i}`` (the i-th distinct
tensor). Dicts are stored as pairs, so int keys stay ints.
"""

import math
from collections import OrderedDict

from ember._serialization.errors import CheckpointError
from ember._tensor import Tensor

__all__ = ["encode", "decode", "path_name"]

_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def encode(obj):
    """``(structure, tensors, paths)``: the JSON structure of ``obj``, its distinct tensors in
    order of first appearance, and the path (a tuple of keys) where each first appears.

    Raises TypeError naming the path of the first object ember cannot save.
    """
    tensors, paths, index, active = [], [], {}, set()

    def enc(x, path):
        if x is None or x is True or x is False or type(x) is str:
            return x
        if isinstance(x, int) and not isinstance(x, bool):
            return int(x)
        if isinstance(x, float):
            x = float(x)
            return x if math.isfinite(x) else {"float": repr(x)}
        if isinstance(x, Tensor):
            i = index.get(id(x))
            if i is None:
                if x.grad_fn is not None:
                    raise RuntimeError(
                        f"ember.save: {_show(path)} is a non-leaf tensor that requires grad; "
                        "autograd graphs cannot be saved: save .detach() instead"
                    )
                i = index[id(x)] = len(tensors)
                tensors.append(x)
                paths.append(path)
            return {"tensor": i}
        if isinstance(x, dict | list | tuple):
            if id(x) in active:
                raise ValueError(f"ember.save: {_show(path)} contains itself")
            active.add(id(x))
            try:
                return _container(x, path, enc)
            finally:
                active.discard(id(x))
        raise TypeError(
            f"ember.save cannot save {_show(path)} of type {type(x).__module__}."
            f"{type(x).__qualname__}: only tensors, dict, OrderedDict, list, tuple, str, int, "
            "float, bool and None can be saved" + _hint(x)
        )

    return enc(obj, ()), tensors, paths


def _container(x, path, enc):
    if isinstance(x, list):
        return [enc(v, (*path, i)) for i, v in enumerate(x)]
    if isinstance(x, tuple):
        return {"tuple": [enc(v, (*path, i)) for i, v in enumerate(x)]}
    pairs = []
    for k, v in x.items():
        if not (k is None or isinstance(k, str | int | float)):
            raise TypeError(
                f"ember.save cannot save the key {k!r} of type {type(k).__qualname__} in "
                f"{_show(path)}: dict keys must be str, int, float, bool or None"
            )
        pairs.append([enc(k, path), enc(v, (*path, k))])
    return {"odict" if isinstance(x, OrderedDict) else "dict": pairs}


def _hint(x):
    if hasattr(x, "item") and hasattr(x, "dtype"):
        return " (convert NumPy values with .item() or ember.from_numpy)"
    if hasattr(x, "state_dict"):
        return " (save its .state_dict() instead)"
    return ""


def _show(path):
    return "obj" + "".join(f"[{k!r}]" for k in path)


def path_name(path):
    """A readable tensor name for a path: the keys joined with dots (``'state.0.exp_avg'``)."""
    return ".".join(str(k) for k in path) or "tensor"


def decode(node, tensors, what):
    """Rebuild the object from its JSON ``structure``; ``tensors[i]`` replaces ``{"tensor": i}``."""
    try:
        return _dec(node, tensors, what)
    except RecursionError:
        raise CheckpointError(f"{what}: the saved structure is nested too deeply") from None


def _dec(node, tensors, what):
    if node is None or isinstance(node, bool | int | float | str):
        return node
    if isinstance(node, list):
        return [_dec(v, tensors, what) for v in node]
    if isinstance(node, dict) and len(node) == 1:
        ((tag, val),) = node.items()
        if tag == "tuple" and isinstance(val, list):
            return tuple(_dec(v, tensors, what) for v in val)
        if tag in ("dict", "odict") and isinstance(val, list):
            out = OrderedDict() if tag == "odict" else {}
            for pair in val:
                if not (isinstance(pair, list) and len(pair) == 2):
                    raise CheckpointError(f"{what}: corrupt structure (a dict item is not a pair)")
                key = _dec(pair[0], tensors, what)
                if not (key is None or isinstance(key, str | int | float)):
                    raise CheckpointError(f"{what}: corrupt structure (dict key {key!r})")
                out[key] = _dec(pair[1], tensors, what)
            return out
        if tag == "float" and val in _NONFINITE:
            return _NONFINITE[val]
        if tag == "tensor" and type(val) is int and 0 <= val < len(tensors):
            return tensors[val]
    raise CheckpointError(f"{what}: corrupt structure (unexpected node {str(node)[:80]})")
