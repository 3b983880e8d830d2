"""Nested tuples, lists and dicts of values, flattened to a list of leaves and rebuilt."""

from ember._tensor import Tensor

_LEAF = None


def flatten(value):
    """(leaves, spec): the leaves in order, and how to put them back with ``unflatten``."""
    leaves = []
    return leaves, _flatten(value, leaves)


def _flatten(value, leaves):
    if isinstance(value, (tuple, list)):
        return (type(value), None, [_flatten(v, leaves) for v in value])
    if isinstance(value, dict):
        return (type(value), list(value), [_flatten(v, leaves) for v in value.values()])
    leaves.append(value)
    return _LEAF


def unflatten(leaves, spec):
    it = iter(leaves)
    return _unflatten(it, spec)


def _unflatten(it, spec):
    if spec is _LEAF:
        return next(it)
    kind, keys, children = spec
    items = [_unflatten(it, c) for c in children]
    if keys is not None:
        return kind(zip(keys, items))
    if hasattr(kind, "_fields"):  # a namedtuple
        return kind(*items)
    return kind(items)


def map_tensors(fn, value):
    """``value`` with every Tensor leaf replaced by ``fn(leaf)``."""
    leaves, spec = flatten(value)
    return unflatten([fn(v) if isinstance(v, Tensor) else v for v in leaves], spec)


def broadcast_prefix(prefix, value, what):
    """One entry of ``prefix`` per leaf of ``value``: ``prefix`` is a leaf (applies to the whole
    subtree) or has the same structure as ``value`` down to where it becomes a leaf."""
    if not isinstance(prefix, (tuple, list, dict)):
        return [prefix] * len(flatten(value)[0])
    if isinstance(prefix, dict) != isinstance(value, dict) or not isinstance(
        value, (tuple, list, dict)
    ):
        raise ValueError(f"{what} has structure {prefix!r} that does not match its input")
    if isinstance(prefix, dict):
        if set(prefix) != set(value):
            raise ValueError(
                f"{what}: keys {sorted(prefix)} do not match the input's keys {sorted(value)}"
            )
        pairs = [(prefix[k], value[k]) for k in value]
    else:
        if len(prefix) != len(value):
            raise ValueError(
                f"{what} has {len(prefix)} entries but its input has {len(value)} entries"
            )
        pairs = list(zip(prefix, value))
    out = []
    for p, v in pairs:
        out.extend(broadcast_prefix(p, v, what))
    return out
