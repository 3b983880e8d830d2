import io
import zipfile

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
