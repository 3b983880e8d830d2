"""Writing PyTorch's zip checkpoint: the records ``torch.save`` writes, in its order.

``<name>/data.pkl`` (the pickle), ``.format_version``, ``.storage_alignment``, ``byteorder``,
``data/<key>`` (one record per storage), ``version`` and ``.data/serialization_id``, each
record's bytes starting at a multiple of 64 in the file. ``<name>`` is the file's name without
its extension, or ``archive`` for a file object, as in PyTorch.
"""

import io
import os
import secrets
import sys

from ember._serialization.torch_pickler import CheckpointPickler
from ember._serialization.zip_writer import ZipWriter

__all__ = ["pickle_checkpoint", "write_checkpoint", "archive_name"]

_ALIGNMENT = 64


def archive_name(f):
    """The folder name inside the archive for destination ``f`` (a path or a file object)."""
    if isinstance(f, str | os.PathLike):
        return os.path.splitext(os.path.basename(os.fspath(f)))[0] or "archive"
    return "archive"


def pickle_checkpoint(obj):
    """``(pickle bytes, storages)`` for ``obj``: all the work that can fail, before any write."""
    buf = io.BytesIO()
    pickler = CheckpointPickler(buf)
    pickler.dump(obj)
    return buf.getbuffer(), pickler.storages


def write_checkpoint(fh, name, data, storages):
    """Write the archive of a pickled object to the binary stream ``fh``."""
    z = ZipWriter(fh, _ALIGNMENT)
    z.add(f"{name}/data.pkl", data)
    z.add(f"{name}/.format_version", b"1")
    z.add(f"{name}/.storage_alignment", str(_ALIGNMENT).encode())
    z.add(f"{name}/byteorder", sys.byteorder.encode())
    for s in storages:
        z.add(f"{name}/data/{s.key}", s.data)
    z.add(f"{name}/version", b"3\n")
    z.add(f"{name}/.data/serialization_id", f"{secrets.randbelow(10**40):040d}".encode())
    z.close()
