import io
import json
import zipfile

import numpy as np
import pytest


@pytest.fixture
def torch_bytes():
    """``torch_bytes(obj)``: the bytes ``torch.save`` writes for ``obj``."""
    import torch

    def save(obj):
        buf = io.BytesIO()
        torch.save(obj, buf)
        return buf.getvalue()

    return save


@pytest.fixture
def torch_zip():
    """``torch_zip(pickle_bytes, storages={})``: a zip laid out like a torch.save checkpoint
    around a hand-made ``data.pkl``."""

    def make(data_pkl, storages=None):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
            z.writestr("archive/data.pkl", data_pkl)
            z.writestr("archive/byteorder", "little")
            for key, raw in (storages or {}).items():
                z.writestr(f"archive/data/{key}", raw)
            z.writestr("archive/version", "3\n")
        return buf.getvalue()

    return make


def legacy_ember_file(entries, structure, specs):
    """The bytes of a file in ember's earlier format: ``entries`` are ``(name, code, array)``
    header entries, ``structure`` the saved object as JSON with ``{"tensor": i}`` references,
    ``specs`` one record per tensor (see ember._serialization.ember_format)."""
    from ember._serialization import layout

    def record(storage, code, shape, strides, offset):
        return {
            "storage": storage, "dtype": code, "shape": shape, "strides": strides,
            "offset": offset, "device": "cpu", "requires_grad": False, "parameter": False,
        }  # fmt: skip

    metadata = {
        "format": "ember",
        "ember.version": "1",
        "ember.structure": json.dumps(structure, separators=(",", ":")),
        "ember.tensors": json.dumps([record(*s) for s in specs], separators=(",", ":")),
    }
    buf = io.BytesIO()
    items = [(name, code, arr.shape, arr) for name, code, arr in entries]
    layout.write(buf, items, metadata)
    return buf.getvalue()


@pytest.fixture(scope="session")
def legacy_ember_bytes():
    """An ember-format file as ember's earlier ``save`` wrote it for
    ``{"a": a, "row": a[1], "n": {3: [1.5, "s", None]}, "i": ones(2, int8)}`` with
    ``a = arange(6.0).reshape(2, 3)``: ``a`` and ``row`` share one byte span (dtype U8)."""
    span = np.arange(6, dtype=np.float32).view(np.uint8)
    structure = {
        "dict": [
            ["a", {"tensor": 0}], ["row", {"tensor": 1}], ["n", {"dict": [[3, [1.5, "s", None]]]}],
            ["i", {"tensor": 2}],
        ]
    }  # fmt: skip
    specs = [
        ("a", "F32", [2, 3], [12, 4], 0),
        ("a", "F32", [3], [4], 12),
        ("i", "I8", [2], [1], 0),
    ]
    return legacy_ember_file(
        [("a", "U8", span), ("i", "I8", np.ones(2, np.int8))], structure, specs
    )
