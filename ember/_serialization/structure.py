"""The container structure of an object saved in ember's earlier format: JSON, with tensors
replaced by references.

JSON has null, booleans, ints, floats, strings and lists of its own; the rest is tagged with a
one-key object: ``{"tuple": [...]}``, ``{"dict": [[key, value], ...]}``, ``{"odict": ...}``
(an OrderedDict), ``{"float": "nan"}`` (non-finite floats), ``{"tensor": i}`` (the i-th distinct
tensor). Dicts are stored as pairs, so int keys stay ints.
"""

import math
from collections import OrderedDict

from ember._serialization.errors import CheckpointError

__all__ = ["decode"]

_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


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
