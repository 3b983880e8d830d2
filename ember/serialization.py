"""Saving and loading checkpoints: ``save``, ``load``, ``save_safetensors``, ``load_safetensors``.

``save`` writes ember's format: the safetensors layout, whose header also records the container
structure (``"ember.structure"``) and where each tensor lies in the stored bytes
(``"ember.tensors"``), so any safetensors reader sees the tensors and ember restores the rest,
tensors that share memory included. Nothing is pickled.

``load`` reads that format, plain safetensors files and PyTorch's ``torch.save`` zip archives;
the last through an unpickler that admits only what a tensor checkpoint needs. Loading never
runs code from a file, and writing to a path never leaves a half-written file in its place.
"""

import contextlib
import io
import json
import os

from ember._serialization import layout, memory, structure, torch_zip
from ember._serialization.atomic import atomic_write
from ember._serialization.dtypes import FROM_SAFETENSORS, SAFETENSORS_CODE
from ember._serialization.errors import CheckpointError, UnsafeCheckpointError
from ember._serialization.location import place
from ember._tensor import Tensor, wrap

__all__ = [
    "save", "load", "save_safetensors", "load_safetensors", "CheckpointError",
    "UnsafeCheckpointError",
]  # fmt: skip

_VERSION = "1"


def save(obj, f):
    """Save ``obj`` (tensors in dicts, OrderedDicts, lists and tuples, with str, int, float,
    bool and None) to ``f``, a path or a binary file object.

    Tensors that share memory are loaded back sharing memory; the same tensor object saved
    twice loads as one object. Anything else raises TypeError naming its place in ``obj``,
    before any file is touched. A path is written atomically: the old file stays intact until
    the new one is complete.
    """
    tree, tensors, paths = structure.encode(obj)
    names = _unique_names(structure.path_name(p) for p in paths)
    storages = memory.plan([t._data for t in tensors], names, [t.dtype for t in tensors])
    specs = [None] * len(tensors)
    for s in storages:
        for i, (offset, strides) in s.views:
            specs[i] = _spec(tensors[i], s.name, offset, strides)
    metadata = {
        "format": "ember",
        "ember.version": _VERSION,
        "ember.structure": json.dumps(tree, allow_nan=False, separators=(",", ":")),
        "ember.tensors": json.dumps(specs, separators=(",", ":")),
    }
    items = [(s.name, s.code, s.shape, s.array) for s in sorted(storages, key=_alignment)]
    _write(f, "ember.save", lambda fh: layout.write(fh, items, metadata))


def _spec(t, storage, offset, strides):
    from ember.nn.parameter import Parameter

    return {
        "storage": storage,
        "dtype": SAFETENSORS_CODE[t.dtype],
        "shape": list(t.shape),
        "strides": list(strides),
        "offset": offset,
        "device": str(t.device),
        "requires_grad": t.requires_grad,
        "parameter": isinstance(t, Parameter),
    }


def _alignment(s):
    """Larger elements first, so every entry starts aligned to its element size in the file
    (spans are padded to 8 bytes)."""
    return -(8 if s.code == "U8" and len(s.views) > 1 else s.array.itemsize)


def _unique_names(names):
    used, out = {"__metadata__"}, []
    for name in names:
        candidate, k = name, 1
        while candidate in used:
            candidate, k = f"{name}#{k}", k + 1
        used.add(candidate)
        out.append(candidate)
    return out


def load(f, map_location=None, *, weights_only=True):
    """Load what ``save`` wrote, a plain safetensors file (a dict of tensors) or a PyTorch zip
    checkpoint, from a path or a binary file object.

    ``map_location`` moves storages as in PyTorch: None, a device or device string, a dict of
    location strings, or ``f(storage, location)``. ember never unpickles arbitrary objects, so
    ``weights_only=False`` is accepted for compatibility and changes nothing.
    """
    with _reader(f) as (fh, what):
        start = fh.tell()
        head = fh.read(8)
        fh.seek(start)
        if torch_zip.is_zip(head):
            return torch_zip.load(fh, map_location, what)
        if torch_zip.is_legacy_pickle(head):
            raise CheckpointError(
                f"{what} is in PyTorch's legacy (pre-1.6) pickle format, which ember does not "
                "read; re-save it with a current torch.save"
            )
        metadata, entries = layout.read_header(fh, what)
        raw = layout.read_storages(fh, entries, what)
    if "ember.structure" in metadata:
        return _load_ember(metadata, entries, raw, map_location, what)
    return _plain_tensors(entries, raw, map_location, what)


def _load_ember(metadata, entries, raw, map_location, what):
    try:
        tree = json.loads(metadata["ember.structure"])
        specs = json.loads(metadata.get("ember.tensors", "[]"))
    except (ValueError, RecursionError) as e:
        raise CheckpointError(f"{what}: corrupt ember metadata ({e})") from None
    if not isinstance(specs, list):
        raise CheckpointError(f"{what}: corrupt ember metadata (tensors are not a list)")
    placed = {}
    tensors = [_tensor(spec, raw, placed, map_location, what) for spec in specs]
    return structure.decode(tree, tensors, what)


_SPEC_KEYS = {
    "storage",
    "dtype",
    "shape",
    "strides",
    "offset",
    "device",
    "requires_grad",
    "parameter",
}


def _tensor(spec, raw, placed, map_location, what):
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
    if name not in placed:
        placed[name] = place(raw[name], spec["device"], map_location, what)
    arr = memory.view(placed[name], dtype.np, tuple(shape), tuple(strides), offset, what)
    t = wrap(arr)
    if spec["requires_grad"] and not dtype.is_floating_point:
        raise CheckpointError(f"{what}: a {dtype} tensor is marked as requiring grad")
    if spec["parameter"]:
        from ember.nn.parameter import Parameter

        return Parameter(t, requires_grad=spec["requires_grad"])
    return t.requires_grad_(spec["requires_grad"])


def _ints(x):
    return isinstance(x, list) and all(type(v) is int for v in x)


def _plain_tensors(entries, raw, map_location, what):
    out = {}
    for e in entries:
        storage = place(raw[e.name], "cpu", map_location, what)
        dt = FROM_SAFETENSORS[e.code].np
        strides = memory.c_strides(e.shape, dt.itemsize)
        out[e.name] = wrap(memory.view(storage, dt, e.shape, strides, 0, what))
    return out


def save_safetensors(tensors, f, metadata=None):
    """Write a plain safetensors file (readable by the ``safetensors`` package and Hugging Face
    tools) from a dict of str to tensors, with optional ``metadata`` (str to str).

    Each tensor is stored contiguous and on its own: tensors that share memory are stored
    twice (use ``save`` to keep sharing).
    """
    if not isinstance(tensors, dict):
        raise TypeError(
            f"save_safetensors expects a dict of str to tensors, got {type(tensors).__name__}"
        )
    for k, v in tensors.items():
        if not isinstance(k, str) or k == "__metadata__":
            raise TypeError(
                f"save_safetensors: tensor names must be str (not '__metadata__'), got {k!r}"
            )
        if not isinstance(v, Tensor):
            raise TypeError(
                f"save_safetensors: tensors[{k!r}] is a {type(v).__name__}, not a tensor"
            )
    if metadata is not None and not (
        isinstance(metadata, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
    ):
        raise TypeError("save_safetensors: metadata must be a dict of str to str")
    items = [
        (k, SAFETENSORS_CODE[v.dtype], v.shape, memory.to_host(v._data)) for k, v in tensors.items()
    ]
    items.sort(key=lambda item: -item[3].itemsize)
    _write(f, "save_safetensors", lambda fh: layout.write(fh, items, metadata))


def load_safetensors(f, device="cpu"):
    """The tensors of a safetensors file as a dict of name to tensor, on ``device``."""
    with _reader(f) as (fh, what):
        _, entries = layout.read_header(fh, what)
        raw = layout.read_storages(fh, entries, what)
    return _plain_tensors(entries, raw, device, what)


def _write(f, op, write):
    if isinstance(f, str | os.PathLike):
        with atomic_write(f) as fh:
            write(fh)
    elif hasattr(f, "write"):
        if isinstance(f, io.TextIOBase):
            raise TypeError(f"{op}: the file object must be opened in binary mode ('wb')")
        write(f)
    else:
        raise TypeError(f"{op}: f must be a path or a binary file object, got {type(f).__name__}")


@contextlib.contextmanager
def _reader(f):
    """``(binary seekable file, description)`` for a path or a file object."""
    if isinstance(f, str | os.PathLike):
        with open(f, "rb") as fh:
            yield fh, f"checkpoint file {os.fspath(f)!r}"
        return
    if not hasattr(f, "read"):
        raise TypeError(
            f"ember.load: f must be a path or a binary file object, got {type(f).__name__}"
        )
    if isinstance(f, io.TextIOBase):
        raise TypeError("ember.load: the file object must be opened in binary mode ('rb')")
    if not (hasattr(f, "seekable") and f.seekable()):
        f = io.BytesIO(f.read())
    name = getattr(f, "name", None)
    yield f, f"checkpoint file {name!r}" if isinstance(name, str) else "the checkpoint"
