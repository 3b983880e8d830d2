"""Reading ember's earlier checkpoint format and plain safetensors files.

ember's earlier ``save`` wrote the safetensors layout with two metadata entries:
``"ember.structure"`` (the saved object as JSON, see ``structure``) and ``"ember.tensors"``
(for each tensor: the header entry holding its bytes, dtype, shape, byte strides, byte offset,
device, requires_grad, and whether it is a Parameter). An entry of a real dtype holds exactly
one tensor's bytes, and a record that uses it must describe exactly that tensor; an entry of
dtype U8 holds the memory span of tensors that shared memory, and each record must lie inside.
"""

import json

from ember._serialization import memory, structure
from ember._serialization.dtypes import FROM_SAFETENSORS
from ember._serialization.errors import CheckpointError
from ember._serialization.location import place
from ember._subclasses import parameter_class
from ember._tensor import wrap

__all__ = ["load_ember", "load_plain"]

_SPEC_KEYS = {
    "storage", "dtype", "shape", "strides", "offset", "device", "requires_grad", "parameter",
}  # fmt: skip


def load_ember(metadata, entries, raw, map_location, what):
    """The object an ember-format file holds; ``raw`` maps entry names to their bytes."""
    try:
        tree = json.loads(metadata["ember.structure"])
        specs = json.loads(metadata.get("ember.tensors", "[]"))
    except (ValueError, RecursionError) as e:
        raise CheckpointError(f"{what}: corrupt ember metadata ({e})") from None
    if not isinstance(specs, list):
        raise CheckpointError(f"{what}: corrupt ember metadata (tensors are not a list)")
    by_name = {e.name: e for e in entries}
    placed = {}
    tensors = [_tensor(spec, by_name, raw, placed, map_location, what) for spec in specs]
    return structure.decode(tree, tensors, what)


def _tensor(spec, by_name, raw, placed, map_location, what):
    if not (isinstance(spec, dict) and set(spec) == _SPEC_KEYS):
        raise CheckpointError(f"{what}: corrupt tensor record {str(spec)[:80]}")
    name, shape, strides, offset = spec["storage"], spec["shape"], spec["strides"], spec["offset"]
    dtype = FROM_SAFETENSORS.get(spec["dtype"]) if isinstance(spec["dtype"], str) else None
    if not (
        isinstance(name, str)
        and name in raw
        and dtype is not None
        and _ints(shape)
        and _ints(strides)
        and len(shape) == len(strides)
        and all(n >= 0 for n in shape)
        and type(offset) is int
        and isinstance(spec["device"], str)
        and isinstance(spec["requires_grad"], bool)
        and isinstance(spec["parameter"], bool)
    ):
        raise CheckpointError(f"{what}: corrupt tensor record {str(spec)[:80]}")
    entry = by_name[name]
    if entry.code != "U8" and (
        FROM_SAFETENSORS[entry.code] is not dtype
        or tuple(shape) != entry.shape
        or offset != 0
        or tuple(strides) != memory.c_strides(entry.shape, dtype.itemsize)
    ):
        raise CheckpointError(
            f"{what}: the record of tensor {name!r} ({spec['dtype']}, shape {shape!s:.80}) does "
            f"not match its data ({entry.code}, shape {list(entry.shape)!s:.80})"
        )
    if name not in placed:
        placed[name] = place(raw[name], spec["device"], map_location, what)
    arr = memory.view(
        placed[name], dtype.np, tuple(shape), tuple(strides), offset, what, f"tensor {name!r}"
    )
    t = wrap(arr)
    if spec["requires_grad"] and not dtype.is_floating_point:
        raise CheckpointError(f"{what}: tensor {name!r} of dtype {dtype} requires grad")
    if spec["parameter"]:
        Parameter = parameter_class()

        return Parameter(t, requires_grad=spec["requires_grad"])
    return t.requires_grad_(spec["requires_grad"])


def _ints(x):
    return isinstance(x, list) and all(type(v) is int for v in x)


def load_plain(entries, raw, map_location, what):
    """The tensors of a plain safetensors file: ``{name: tensor}`` in header order."""
    out = {}
    for e in entries:
        storage = place(raw[e.name], "cpu", map_location, what)
        dt = FROM_SAFETENSORS[e.code].np
        strides = memory.c_strides(e.shape, dt.itemsize)
        arr = memory.view(storage, dt, e.shape, strides, 0, what, f"tensor {e.name!r}")
        out[e.name] = wrap(arr)
    return out
