"""The safetensors file layout: an 8-byte little-endian header length, a JSON header, the bytes.

The header maps each tensor name to ``{"dtype", "shape", "data_offsets"}`` (offsets relative to
the end of the header) and may hold ``"__metadata__"``, a map of strings to strings. The entries
tile the data area exactly, without gaps or overlaps, as the safetensors package requires.
Reading validates every claim against the file's size before anything is allocated.
"""

import json
import struct

import numpy as np

from ember._serialization.dtypes import FROM_SAFETENSORS
from ember._serialization.errors import CheckpointError
from ember._serialization.memory import check_shape

__all__ = ["Entry", "write", "write_array", "read_header", "read_storages", "readinto_full"]

MAX_HEADER_BYTES = 100 * 2**20


class Entry:
    """One tensor entry of a header: name, safetensors dtype code, shape and byte range."""

    __slots__ = ("name", "code", "shape", "start", "end")

    def __init__(self, name, code, shape, start, end):
        self.name, self.code, self.shape, self.start, self.end = name, code, shape, start, end

    @property
    def nbytes(self):
        return self.end - self.start


def write(f, items, metadata=None):
    """Write ``items`` (``(name, code, shape, array)`` with C-contiguous host arrays) to ``f``."""
    header = {"__metadata__": metadata} if metadata else {}
    offset = 0
    for name, code, shape, arr in items:
        header[name] = {
            "dtype": code,
            "shape": list(shape),
            "data_offsets": [offset, offset + arr.nbytes],
        }
        offset += arr.nbytes
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-len(text) % 8)  # keeps the data area 8-byte aligned in the file
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    for _, _, _, arr in items:
        write_array(f, arr)


def write_array(f, arr):
    """Write the bytes of a C-contiguous host array without copying them."""
    if arr.nbytes:
        f.write(memoryview(arr.reshape(-1).view(np.uint8)))


def read_header(f, what):
    """Parse and validate the header at ``f``'s position: ``(metadata, entries)``.

    ``entries`` keep the header's order; afterwards ``f`` stands at the start of the data.
    ``what`` names the file in error messages.
    """
    start = f.tell()
    size = f.seek(0, 2) - start
    f.seek(start)
    raw = f.read(8)
    if len(raw) < 8:
        raise CheckpointError(f"{what} is truncated: {size} bytes, too short for a header")
    (n,) = struct.unpack("<Q", raw)
    if n > MAX_HEADER_BYTES or n > size - 8:
        raise CheckpointError(
            f"{what} is truncated or corrupt: its header claims {n} bytes, the file has {size - 8}"
        )
    text = f.read(n)
    try:
        header = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise CheckpointError(f"{what} has a corrupt header (not JSON: {e})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{what} has a corrupt header (not a JSON object)")
    metadata = header.pop("__metadata__", None)
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise CheckpointError(f"{what} has corrupt metadata (must map strings to strings)")
    entries = [_entry(name, spec, what) for name, spec in header.items()]
    _check_tiling(entries, size - 8 - n, what)
    return metadata, entries


def _entry(name, spec, what):
    if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data_offsets"}:
        raise CheckpointError(f"{what}: corrupt header entry for tensor {name!r}")
    code, shape, offsets = spec["dtype"], spec["shape"], spec["data_offsets"]
    dt = FROM_SAFETENSORS.get(code) if isinstance(code, str) else None
    if dt is None:
        raise CheckpointError(f"{what}: tensor {name!r} has unsupported dtype {code!r}")
    if not _int_list(shape) or any(s < 0 for s in shape):
        raise CheckpointError(f"{what}: tensor {name!r} has invalid shape {shape!s:.200}")
    check_shape(shape, dt.itemsize, what, f"tensor {name!r}")
    if not _int_list(offsets) or len(offsets) != 2 or not 0 <= offsets[0] <= offsets[1]:
        raise CheckpointError(f"{what}: tensor {name!r} has invalid data_offsets {offsets!r}")
    numel = 1
    for s in shape:
        numel *= s
    if numel * dt.itemsize != offsets[1] - offsets[0]:
        raise CheckpointError(
            f"{what}: tensor {name!r} of dtype {code} and shape {shape} needs "
            f"{numel * dt.itemsize} bytes, its data_offsets {offsets} span "
            f"{offsets[1] - offsets[0]}"
        )
    return Entry(name, code, tuple(shape), offsets[0], offsets[1])


def _int_list(x):
    return isinstance(x, list) and all(type(v) is int for v in x)


def _check_tiling(entries, data_bytes, what):
    end = 0
    for e in sorted(entries, key=lambda e: (e.start, e.end)):
        if e.start != end:
            raise CheckpointError(
                f"{what}: tensor {e.name!r} starts at byte {e.start} of the data, expected {end} "
                "(entries overlap or leave gaps)"
            )
        end = e.end
    if end != data_bytes:
        raise CheckpointError(
            f"{what} is truncated or corrupt: the header describes {end} bytes of tensor data, "
            f"the file holds {data_bytes}"
        )


def read_storages(f, entries, what, mapped=None):
    """Each entry's bytes as a uint8 array, ``{name: array}``: read into an array of its own,
    or a view of ``mapped`` (the whole file memory-mapped) when given."""
    base = f.tell()
    out = {}
    for e in sorted(entries, key=lambda e: e.start):
        if mapped is not None and e.nbytes:
            out[e.name] = np.frombuffer(mapped, np.uint8, e.nbytes, base + e.start)
            continue
        buf = np.empty(e.nbytes, np.uint8)
        if e.nbytes:
            f.seek(base + e.start)
            if readinto_full(f, buf) != e.nbytes:
                raise CheckpointError(f"{what} is truncated inside tensor {e.name!r}")
        out[e.name] = buf
    return out


_CHUNK = 2**20


def readinto_full(f, buf):
    """Fill ``buf`` from ``f`` in bounded chunks (a decompressing reader never holds more than
    one chunk besides ``buf``); the number of bytes read (less than its size at end of file)."""
    view = memoryview(buf).cast("B")
    got = 0
    while got < len(view):
        n = f.readinto(view[got : got + _CHUNK])
        if not n:
            break
        got += n
    return got
