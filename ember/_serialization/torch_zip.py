"""Reading checkpoints that ``torch.save`` writes: zip archives (PyTorch 1.6 and later).

The archive holds ``<name>/data.pkl`` (the object, pickled, with storages referenced by key),
``<name>/data/<key>`` (each storage's raw bytes, stored uncompressed) and ``<name>/byteorder``.
Storages are read straight from the file into their own arrays, one copy, no more.
"""

import io
import struct
import zipfile

import numpy as np

from ember._serialization import memory
from ember._serialization.errors import CheckpointError
from ember._serialization.layout import readinto_full
from ember._serialization.location import place
from ember._serialization.unpickler import RestrictedUnpickler, resolve_dtypes
from ember._tensor import wrap

__all__ = ["is_zip", "is_legacy_pickle", "load"]

_LOCAL_HEADER = struct.Struct("<4s22xHH")


def is_zip(head):
    return head[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def is_legacy_pickle(head):
    return head[:1] == b"\x80"


def load(f, map_location, what):
    """The object in the PyTorch zip checkpoint ``f`` (a seekable binary file)."""
    try:
        return _load(f, map_location, what)
    except CheckpointError:
        raise
    except _CallerError as e:
        raise e.error from None
    except Exception as e:  # anything a corrupt archive or pickle provokes
        raise CheckpointError(
            f"{what}: corrupt PyTorch checkpoint ({type(e).__name__}: {e})"
        ) from e


class _CallerError(Exception):
    """Carries an error of the caller's own making (a bad ``map_location``) through loading."""

    def __init__(self, error):
        super().__init__(error)
        self.error = error


def _load(f, map_location, what):
    archive = zipfile.ZipFile(f)
    names = archive.namelist()
    pickles = [n for n in names if n == "data.pkl" or n.endswith("/data.pkl")]
    if len(pickles) != 1:
        raise CheckpointError(f"{what} is a zip archive but not a PyTorch checkpoint (no data.pkl)")
    prefix = pickles[0][: -len("data.pkl")]
    size = f.seek(0, 2)
    reader = _Reader(f, archive, prefix, size, map_location, what)
    byteorder = b"little"
    if prefix + "byteorder" in names:
        byteorder = _member(archive, prefix + "byteorder", what, size)
    if byteorder not in (b"little", b"big"):
        raise CheckpointError(f"{what}: unknown byte order {byteorder[:20]!r}")
    reader.swap = byteorder == b"big"
    data = _member(archive, pickles[0], what, size)
    unpickler = RestrictedUnpickler(
        io.BytesIO(data), what, reader.storage, reader.tensor, _parameter
    )
    return resolve_dtypes(unpickler.load())


def _member(archive, name, what, size):
    info = archive.getinfo(name)
    if info.compress_size > size:
        raise CheckpointError(f"{what}: zip entry {name!r} claims more bytes than the file has")
    return archive.read(name)


class _Reader:
    """Reads storages and builds tensors for the unpickler."""

    def __init__(self, f, archive, prefix, size, map_location, what):
        self.f, self.archive, self.prefix, self.size = f, archive, prefix, size
        self.map_location, self.what, self.swap = map_location, what, False

    def storage(self, key, dtype, location, numel):
        name = f"{self.prefix}data/{key}"
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            raise CheckpointError(
                f"{self.what}: storage {key!r} is missing from the archive"
            ) from None
        if numel < 0 or info.file_size != numel * dtype.itemsize:
            raise CheckpointError(
                f"{self.what}: storage {key!r} should hold {numel} elements of {dtype} "
                f"({numel * dtype.itemsize} bytes), the archive has {info.file_size} bytes"
            )
        buf = self._read(info)
        if self.swap:
            buf.view(dtype.np).byteswap(inplace=True)
        try:
            return place(buf, location, self.map_location, self.what)
        except CheckpointError:
            raise
        except Exception as e:
            raise _CallerError(e) from e

    def _read(self, info):
        """The entry's bytes in a fresh array, read straight from the file when uncompressed."""
        if info.compress_type != zipfile.ZIP_STORED:
            return np.frombuffer(
                bytearray(_member(self.archive, info.filename, self.what, self.size)), np.uint8
            )
        self.f.seek(info.header_offset)
        head = self.f.read(_LOCAL_HEADER.size)
        if len(head) != _LOCAL_HEADER.size:
            raise CheckpointError(f"{self.what} is truncated (zip entry {info.filename!r})")
        magic, name_len, extra_len = _LOCAL_HEADER.unpack(head)
        start = info.header_offset + _LOCAL_HEADER.size + name_len + extra_len
        if magic != b"PK\x03\x04" or start + info.file_size > self.size:
            raise CheckpointError(
                f"{self.what} is truncated or corrupt (zip entry {info.filename!r})"
            )
        buf = np.empty(info.file_size, np.uint8)
        self.f.seek(start)
        if readinto_full(self.f, buf) != info.file_size:
            raise CheckpointError(f"{self.what} is truncated (zip entry {info.filename!r})")
        return buf

    def tensor(self, storage, dtype, offset, size, stride, requires_grad):
        if not (
            type(offset) is int
            and _ints(size)
            and _ints(stride)
            and len(size) == len(stride)
            and offset >= 0
            and all(n >= 0 for n in size)
            and all(s >= 0 for s in stride)
            and isinstance(requires_grad, bool)
        ):
            raise CheckpointError(
                f"{self.what}: invalid tensor layout (offset {offset!r:.40}, size {size!r:.80}, "
                f"stride {stride!r:.80})"
            )
        item = dtype.itemsize
        arr = memory.view(
            storage,
            dtype.np,
            tuple(size),
            tuple(s * item for s in stride),
            offset * item,
            self.what,
        )
        t = wrap(arr)
        if requires_grad:
            t.requires_grad_(True)
        return t


def _ints(x):
    return isinstance(x, tuple | list) and all(type(v) is int for v in x)


def _parameter(data, requires_grad):
    from ember.nn.parameter import Parameter

    return Parameter(data, requires_grad=requires_grad)
