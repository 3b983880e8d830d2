"""Reading PyTorch's zip checkpoints (``torch.save`` since PyTorch 1.6, and ``ember.save``).

The archive holds ``<name>/data.pkl`` (the object, pickled, with storages referenced by key),
``<name>/data/<key>`` (each storage's raw bytes) and ``<name>/byteorder``. Every size the file
declares is checked before memory is spent on it: a record must not claim more bytes than the
file (uncompressed) or than deflate could plausibly produce (compressed), ``data.pkl`` is
capped, a storage must hold exactly the bytes its tensors' persistent id declares, and a
storage is read only when a tensor refers to it, straight into its own array (or mapped from
the file with ``mmap=True``), compressed ones in bounded chunks.
"""

import struct
import zipfile
from collections import Counter

import numpy as np

from ember._serialization.errors import CheckpointError
from ember._serialization.full_unpickler import TrustedUnpickler, check_memo_indices
from ember._serialization.layout import readinto_full
from ember._serialization.location import place
from ember._serialization.rebuild import LoadedStorage
from ember._serialization.unpickler import WeightsUnpickler

__all__ = ["is_zip", "is_legacy_pickle", "load"]

_LOCAL_HEADER = struct.Struct("<4s22xHH")
MAX_PICKLE_BYTES = 2**30
# deflate expands at most about 1032-fold; real pickles and tensors compress far less than
# 100-fold, so a record claiming more is refused before it is inflated
_MAX_RATIO = 100
_RATIO_SLACK = 2**20


def is_zip(head):
    return head[:4] in (b"PK\x03\x04", b"PK\x05\x06")


def is_legacy_pickle(head):
    return head[:1] == b"\x80"


def load(f, what, map_location, weights_only, mapped, pickle_load_args):
    """The object in the zip checkpoint ``f`` (a seekable binary file). ``mapped``, when not
    None, is the whole file memory-mapped: storages become views of it."""
    try:
        return _load(f, what, map_location, weights_only, mapped, pickle_load_args)
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


def _load(f, what, map_location, weights_only, mapped, pickle_load_args):
    size = f.seek(0, 2)
    archive = zipfile.ZipFile(f)
    infos = archive.infolist()
    repeated = [name for name, n in Counter(i.filename for i in infos).items() if n > 1]
    if repeated:
        raise CheckpointError(
            f"{what} holds several records named {repeated[0]!r}; a checkpoint has one of each"
        )
    pickles = [i for i in infos if i.filename == "data.pkl" or i.filename.endswith("/data.pkl")]
    if not pickles:
        raise CheckpointError(f"{what} is a zip archive but not a PyTorch checkpoint (no data.pkl)")
    if len(pickles) > 1:
        names = ", ".join(repr(i.filename) for i in pickles[:4])
        raise CheckpointError(
            f"{what} holds {len(pickles)} data.pkl records ({names}); a checkpoint has one"
        )
    prefix = pickles[0].filename[: -len("data.pkl")]
    byteorder = b"little"
    if prefix + "byteorder" in archive.NameToInfo:
        byteorder = read_member(archive, archive.getinfo(prefix + "byteorder"), what, size, 16)
    if byteorder not in (b"little", b"big"):
        raise CheckpointError(f"{what}: unknown byte order {byteorder[:20]!r}")
    reader = _StorageReader(f, archive, prefix, size, map_location, what, mapped)
    reader.swap = byteorder == b"big"
    data = bytes(read_member(archive, pickles[0], what, size, MAX_PICKLE_BYTES))
    if weights_only:
        return WeightsUnpickler(data, what, reader.storage, **pickle_load_args).load()
    check_memo_indices(data, what)
    return TrustedUnpickler(data, what, reader.storage, **pickle_load_args).load()


def read_member(archive, info, what, file_size, limit):
    """The bytes of record ``info`` (at most ``limit``), inflated in bounded chunks."""
    _check_claim(info, what, file_size, limit)
    buf = bytearray(info.file_size)
    with archive.open(info) as src:
        if readinto_full(src, buf) != info.file_size or src.read(1):
            raise CheckpointError(f"{what} is truncated or corrupt (zip entry {info.filename!r})")
    return buf


def _check_claim(info, what, file_size, limit, ratio=True):
    if info.file_size > limit:
        raise CheckpointError(
            f"{what}: zip entry {info.filename!r} claims {info.file_size} bytes, more than the "
            f"{limit} allowed"
        )
    if info.compress_size > file_size or (
        info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size
    ):
        raise CheckpointError(
            f"{what}: zip entry {info.filename!r} claims more bytes than the file has"
        )
    if ratio and info.file_size > _RATIO_SLACK + _MAX_RATIO * info.compress_size:
        raise CheckpointError(
            f"{what}: zip entry {info.filename!r} claims {info.file_size} bytes inflated from "
            f"{info.compress_size}, beyond any real checkpoint's compression"
        )


class _StorageReader:
    """Loads the storages the pickle refers to, each once per key."""

    def __init__(self, f, archive, prefix, size, map_location, what, mapped):
        self.f, self.archive, self.prefix, self.size = f, archive, prefix, size
        self.map_location, self.what, self.mapped, self.swap = map_location, what, mapped, False
        self.placed = {}

    def storage(self, kind, key, location, numel):
        dtype = kind.dtype
        name = f"{self.prefix}data/{key}"
        info = self.archive.NameToInfo.get(name)
        if info is None:
            raise CheckpointError(f"{self.what}: storage {key!r} is missing from the archive")
        if info.file_size != numel * dtype.itemsize:
            raise CheckpointError(
                f"{self.what}: storage {key!r} should hold {numel} elements of {dtype} "
                f"({numel * dtype.itemsize} bytes), the archive has {info.file_size} bytes"
            )
        if key not in self.placed:
            buf = self._read(info)
            if self.swap:
                buf.view(dtype.np).byteswap(inplace=True)
            try:
                self.placed[key] = place(buf, location, self.map_location, self.what)
            except CheckpointError:
                raise
            except Exception as e:
                raise _CallerError(e) from e
        return LoadedStorage(self.placed[key], dtype, key, self.what)

    def _read(self, info):
        """The record's bytes: a view of the mapped file, or a fresh array."""
        if info.compress_type != zipfile.ZIP_STORED:
            # the tensors claim these bytes: they cost what they declare, and no more
            _check_claim(info, self.what, self.size, info.file_size, ratio=False)
            buf = np.empty(info.file_size, np.uint8)
            with self.archive.open(info) as src:
                if readinto_full(src, buf) != info.file_size:
                    raise CheckpointError(f"{self.what} is truncated (zip entry {info.filename!r})")
            return buf
        start = self._data_start(info)
        if self.mapped is not None:
            return np.frombuffer(self.mapped, np.uint8, info.file_size, start)
        buf = np.empty(info.file_size, np.uint8)
        self.f.seek(start)
        if readinto_full(self.f, buf) != info.file_size:
            raise CheckpointError(f"{self.what} is truncated (zip entry {info.filename!r})")
        return buf

    def _data_start(self, info):
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
        return start
