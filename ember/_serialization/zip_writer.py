"""A writer of uncompressed zip archives whose records start at aligned offsets.

``torch.save`` archives store every record uncompressed and pad each local header (with an
extra field tagged ``FB``) so that the record's bytes start at a multiple of 64, which lets a
reader map storages straight from the file. Sizes and CRCs are known before a record is
written, so the writer never seeks and works on any binary stream. Archives past 4 GiB or 65535
records use the zip64 extensions.
"""

import struct
import zlib

__all__ = ["ZipWriter"]

ZIP64_LIMIT = 0xFFFFFFFF  # sizes and offsets from here on need zip64 (lowered in tests)
_MARK32 = 0xFFFFFFFF  # "see the zip64 field"
_MAX_RECORDS = 0xFFFF
_UTF8_NAMES = 0x800
_PAD_TAG = b"FB"
_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_END64 = struct.Struct("<IQHHIIQQQQ")
_LOCATOR64 = struct.Struct("<IIQI")


class ZipWriter:
    """Appends records to ``f``; ``close()`` writes the central directory."""

    def __init__(self, f, alignment=64):
        self.f, self.alignment, self.pos, self.records = f, alignment, 0, []

    def add(self, name, data):
        """Write record ``name`` holding ``data`` (bytes or a flat byte memoryview)."""
        data = memoryview(data).cast("B")
        name_bytes = name.encode()
        size, crc, offset = data.nbytes, zlib.crc32(data), self.pos
        zip64 = size >= ZIP64_LIMIT
        extra = struct.pack("<HHQQ", 1, 16, size, size) if zip64 else b""
        start = offset + _LOCAL.size + len(name_bytes) + len(extra) + 4
        extra += _PAD_TAG + struct.pack("<H", -start % self.alignment)
        extra += b"\0" * (-start % self.alignment)
        shown = _MARK32 if zip64 else size
        version = 45 if zip64 else 20
        header = _LOCAL.pack(
            0x04034B50, version, _UTF8_NAMES, 0, 0, 0, crc, shown, shown, len(name_bytes),
            len(extra),
        )  # fmt: skip
        self._write(header + name_bytes + extra)
        self._write(data)
        self.records.append((name_bytes, size, crc, offset))

    def close(self):
        central_start = self.pos
        for name, size, crc, offset in self.records:
            zip64 = size >= ZIP64_LIMIT or offset >= ZIP64_LIMIT
            extra = struct.pack("<HHQQQ", 1, 24, size, size, offset) if zip64 else b""
            shown_size = _MARK32 if zip64 else size
            shown_offset = _MARK32 if zip64 else offset
            version = 45 if zip64 else 20
            header = _CENTRAL.pack(
                0x02014B50, version, version, _UTF8_NAMES, 0, 0, 0, crc, shown_size, shown_size,
                len(name), len(extra), 0, 0, 0, 0, shown_offset,
            )  # fmt: skip
            self._write(header + name + extra)
        central_size = self.pos - central_start
        count = len(self.records)
        if count >= _MAX_RECORDS or central_start >= ZIP64_LIMIT or central_size >= ZIP64_LIMIT:
            end64 = self.pos
            self._write(
                _END64.pack(0x06064B50, 44, 45, 45, 0, 0, count, count, central_size, central_start)
            )
            self._write(_LOCATOR64.pack(0x07064B50, 0, end64, 1))
            count = min(count, _MAX_RECORDS)
            central_size = min(central_size, _MARK32)
            central_start = min(central_start, _MARK32)
        self._write(_END.pack(0x06054B50, 0, 0, count, count, central_size, central_start, 0))

    def _write(self, data):
        self.f.write(data)
        self.pos += len(data) if isinstance(data, bytes) else data.nbytes
