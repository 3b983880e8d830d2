"""Saving and loading checkpoints: ``save``, ``load``, ``save_safetensors``, ``load_safetensors``.

``save`` writes PyTorch's own zip format, so ``torch.load`` reads ember's files and ember reads
PyTorch's. ``load`` follows PyTorch 2.6 and later: ``weights_only=True`` by default, which reads
tensors, containers, numbers and strings (and globals the user admits with
``add_safe_globals``) without running anything from the file; ``weights_only=False`` unpickles
anything, for files the user trusts. ``load`` also reads plain safetensors files and ember's
earlier safetensors-based format, recognised by their content. Writing to a path never leaves a
half-written file in its place.
"""

import contextlib
import io
import mmap as _mmap
import os
import pickle

from ember._serialization import ember_format, layout, memory, torch_zip
from ember._serialization.atomic import atomic_write
from ember._serialization.dtypes import SAFETENSORS_CODE
from ember._serialization.errors import CheckpointError, UnsafeCheckpointError
from ember._serialization.safe_globals import (
    add_safe_globals,
    clear_safe_globals,
    get_safe_globals,
    safe_globals,
)
from ember._serialization.torch_writer import archive_name, pickle_checkpoint, write_checkpoint
from ember._tensor import Tensor

__all__ = [
    "save", "load", "save_safetensors", "load_safetensors", "CheckpointError",
    "UnsafeCheckpointError", "add_safe_globals", "get_safe_globals", "clear_safe_globals",
    "safe_globals",
]  # fmt: skip

DEFAULT_PROTOCOL = 2


def save(obj, f, pickle_module=None, pickle_protocol=DEFAULT_PROTOCOL,
         _use_new_zipfile_serialization=True):  # fmt: skip
    """Save ``obj`` to ``f`` (a path or a binary file object) in PyTorch's zip format.

    Anything picklable can be saved; tensors are stored as PyTorch stores them, so a file
    holding tensors, containers, numbers and strings loads in PyTorch too. Tensors that share
    memory load back sharing memory. ``obj`` is pickled before the file is touched, and a path
    is written atomically: the old file stays intact until the new one is complete.
    """
    if pickle_module not in (None, pickle) or pickle_protocol != DEFAULT_PROTOCOL:
        raise ValueError(
            "ember.save writes pickle protocol 2 with the standard pickle module only, got "
            f"pickle_module={pickle_module!r:.40}, pickle_protocol={pickle_protocol!r}"
        )
    if not _use_new_zipfile_serialization:
        raise ValueError("ember.save writes only the zip format (_use_new_zipfile_serialization)")
    _check_destination(f, "ember.save")
    data, storages = pickle_checkpoint(obj)
    name = archive_name(f)
    _write(f, lambda fh: write_checkpoint(fh, name, data, storages))


def load(f, map_location=None, pickle_module=None, *, weights_only=None, mmap=None,
         **pickle_load_args):  # fmt: skip
    """Load a checkpoint from ``f`` (a path or a binary file object): a zip checkpoint written
    by ``save`` or ``torch.save``, a plain safetensors file (a dict of tensors), or ember's
    earlier safetensors-based format.

    ``map_location`` moves storages as in PyTorch: None, a device or device string, a dict of
    location strings, or ``f(storage, location)``. ``weights_only`` (default True) admits only
    what a weights file needs, plus globals admitted with ``add_safe_globals``; False unpickles
    anything and must be used only for trusted files. ``mmap=True`` maps the file's tensor
    bytes instead of reading them (``f`` must be a path); the tensors are copy-on-write views
    of the file.
    """
    if weights_only is None:
        weights_only = True
    if weights_only and pickle_module not in (None, pickle):
        raise RuntimeError(
            "ember.load cannot load safely (weights_only=True) with an explicit pickle_module; "
            "pass weights_only=False if you trust the file"
        )
    if mmap and not isinstance(f, str | os.PathLike):
        raise ValueError("f must be a file path in order to use the mmap argument")
    if weights_only and set(pickle_load_args) - {"encoding"}:
        raise TypeError(
            f"ember.load: {sorted(pickle_load_args)} apply only with weights_only=False "
            "(weights_only loading takes encoding alone)"
        )
    with _reader(f) as (fh, what):
        mapped = _map(fh, what) if mmap else None
        start = fh.tell()
        head = fh.read(8)
        fh.seek(start)
        if torch_zip.is_zip(head):
            return torch_zip.load(fh, what, map_location, weights_only, mapped, pickle_load_args)
        if torch_zip.is_legacy_pickle(head):
            raise CheckpointError(
                f"{what} is in PyTorch's legacy (pre-1.6) pickle format, which ember does not "
                "read; re-save it with a current torch.save"
            )
        metadata, entries = layout.read_header(fh, what)
        raw = layout.read_storages(fh, entries, what, mapped)
    if "ember.structure" in metadata:
        return ember_format.load_ember(metadata, entries, raw, map_location, what)
    return ember_format.load_plain(entries, raw, map_location, what)


def _map(fh, what):
    """The whole file mapped copy-on-write: writes to loaded tensors never reach the file."""
    try:
        return _mmap.mmap(fh.fileno(), 0, access=_mmap.ACCESS_COPY)
    except ValueError:  # an empty file
        raise CheckpointError(f"{what} is empty") from None


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
    _check_destination(f, "save_safetensors")
    items = [
        (k, SAFETENSORS_CODE[v.dtype], v.shape, memory.to_host(v._data)) for k, v in tensors.items()
    ]
    items.sort(key=lambda item: -item[3].itemsize)
    _write(f, lambda fh: layout.write(fh, items, metadata))


def load_safetensors(f, device="cpu"):
    """The tensors of a safetensors file as a dict of name to tensor, on ``device``."""
    with _reader(f) as (fh, what):
        _, entries = layout.read_header(fh, what)
        raw = layout.read_storages(fh, entries, what)
    return ember_format.load_plain(entries, raw, device, what)


def _check_destination(f, op):
    if isinstance(f, str | os.PathLike):
        return
    if not hasattr(f, "write"):
        raise TypeError(f"{op}: f must be a path or a binary file object, got {type(f).__name__}")
    if isinstance(f, io.TextIOBase):
        raise TypeError(f"{op}: the file object must be opened in binary mode ('wb')")


def _write(f, write):
    if isinstance(f, str | os.PathLike):
        with atomic_write(f) as fh:
            write(fh)
    else:
        write(f)


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
