"""``PyTorchFileReader``: the records of a zip checkpoint, read one by one by name.

Record names are relative to the archive's folder (``"data.pkl"``, ``"data/0"``), as PyTorch
gives them. Libraries use it to unpickle a checkpoint themselves and load each storage lazily.
"""

import zipfile

import numpy as np

from ember import _dtype
from ember._serialization.errors import CheckpointError
from ember._serialization.torch_zip import read_member

__all__ = ["PyTorchFileReader"]

_MAX_RECORD_BYTES = 2**40


class PyTorchFileReader:
    """Reads records of the zip checkpoint ``name_or_buffer`` (a path or a binary file)."""

    def __init__(self, name_or_buffer):
        if isinstance(name_or_buffer, (str, bytes)) or hasattr(name_or_buffer, "__fspath__"):
            self._file = open(name_or_buffer, "rb")  # noqa: SIM115 (lives as long as the reader)
            self._owns_file = True
            self._what = f"PyTorchFileReader({str(name_or_buffer)!r})"
        else:
            self._file = name_or_buffer
            self._owns_file = False
            self._what = "PyTorchFileReader(<buffer>)"
        self._size = self._file.seek(0, 2)
        try:
            self._archive = zipfile.ZipFile(self._file)
        except zipfile.BadZipFile as e:
            raise CheckpointError(f"{self._what}: not a zip checkpoint ({e})") from None
        names = self._archive.namelist()
        pickles = [n for n in names if n == "data.pkl" or n.endswith("/data.pkl")]
        if len(pickles) != 1:
            raise CheckpointError(
                f"{self._what}: a checkpoint holds one data.pkl record, this archive {len(pickles)}"
            )
        self._prefix = pickles[0][: -len("data.pkl")]
        self._records = [n[len(self._prefix) :] for n in names if n.startswith(self._prefix)]

    def __del__(self):
        if getattr(self, "_owns_file", False):
            self._file.close()

    def get_all_records(self):
        return list(self._records)

    def has_record(self, name):
        return name in self._records

    def get_record(self, name):
        """The bytes of record ``name``."""
        return bytes(read_member(self._archive, self._info(name), self._what, self._size,
                                 _MAX_RECORD_BYTES))  # fmt: skip

    def get_record_offset(self, name):
        """Where record ``name``'s bytes start in the file (for records stored uncompressed)."""
        info = self._info(name)
        self._file.seek(info.header_offset + 26)
        name_len, extra_len = np.frombuffer(self._file.read(4), "<u2")
        return info.header_offset + 30 + int(name_len) + int(extra_len)

    def get_storage_from_record(self, name, numel, dtype):
        """Record ``name`` as a 1-d tensor of ``numel`` elements of ``dtype`` (a storage class
        such as ``UntypedStorage`` means bytes)."""
        if not isinstance(dtype, _dtype.dtype):
            dtype = _dtype.uint8
        data = self.get_record(name)
        if len(data) != numel * dtype.itemsize:
            raise RuntimeError(
                f"get_storage_from_record: record {name!r} holds {len(data)} bytes, expected "
                f"{numel * dtype.itemsize} bytes = {numel} elements * {dtype.itemsize} "
                f"bytes/element for dtype {dtype}"
            )
        from ember._ops.creation import from_numpy

        return from_numpy(np.frombuffer(bytearray(data), dtype.np))

    def serialization_id(self):
        """The archive's identifier (empty for archives written without one)."""
        if not self.has_record(".data/serialization_id"):
            return ""
        return self.get_record(".data/serialization_id").decode()

    def _info(self, name):
        info = self._archive.NameToInfo.get(self._prefix + name)
        if info is None:
            raise RuntimeError(
                f"{self._what}: no record named {name!r}; the archive holds "
                f"{', '.join(self._records)}"
            )
        return info
