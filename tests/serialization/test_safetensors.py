"""Plain safetensors files: written by ember for the safetensors package, and read back."""

import io

import ml_dtypes
import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch

import ember
from ember._tensor import wrap


def test_written_files_read_with_safetensors_numpy(tmp_path):
    base = np.arange(12, dtype=np.float64).reshape(3, 4)
    tensors = {
        "f64": wrap(base),
        "view": wrap(base.T),  # non-contiguous, and sharing memory with f64: stored twice
        "i8": ember.tensor([-1, 2], dtype=ember.int8),
        "flag": ember.tensor([True]),
        "scalar": ember.tensor(1.5),
        "empty": ember.zeros(0, 2),
        "c": ember.tensor([1 + 2j], dtype=ember.complex64),
    }
    ember.save_safetensors(tensors, tmp_path / "m.safetensors", metadata={"format": "pt"})
    back = safetensors.numpy.load_file(str(tmp_path / "m.safetensors"))
    assert set(back) == set(tensors)
    for k, t in tensors.items():
        np.testing.assert_array_equal(back[k], t._data)
        assert back[k].dtype == t._data.dtype and back[k].shape == t._data.shape
    with safetensors.safe_open(str(tmp_path / "m.safetensors"), "np") as f:
        assert f.metadata() == {"format": "pt"}


def test_bfloat16_and_float16_read_with_safetensors_torch():
    x = np.linspace(-3, 3, 7).astype(ml_dtypes.bfloat16)
    buf = io.BytesIO()
    ember.save_safetensors({"bf": wrap(x), "h": wrap(x.astype(np.float16))}, buf)
    back = safetensors.torch.load(buf.getvalue())
    np.testing.assert_array_equal(back["bf"].float().numpy(), x.astype(np.float32))
    np.testing.assert_array_equal(back["h"].numpy(), x.astype(np.float16))


def test_files_from_safetensors_load_in_ember(tmp_path):
    torch.manual_seed(0)
    sd = {
        "w": torch.randn(3, 4),
        "b": torch.randn(4).bfloat16(),
        "n": torch.arange(5),
        "m": torch.tensor([True, False]),
    }
    safetensors.torch.save_file(sd, str(tmp_path / "hf.safetensors"), metadata={"format": "pt"})
    for out in (
        ember.load(tmp_path / "hf.safetensors"),
        ember.load_safetensors(tmp_path / "hf.safetensors"),
    ):
        assert set(out) == set(sd)
        for k, t in sd.items():
            assert out[k].dtype.name == str(t.dtype).removeprefix("torch.")
            np.testing.assert_array_equal(
                out[k]._data.astype(np.float32) if t.dtype == torch.bfloat16 else out[k]._data,
                t.float().numpy() if t.dtype == torch.bfloat16 else t.numpy(),
            )


def test_round_trip_and_device_argument():
    buf = io.BytesIO()
    ember.save_safetensors({"a": ember.arange(3.0)}, buf)
    buf.seek(0)
    out = ember.load_safetensors(buf, device="cpu")
    np.testing.assert_array_equal(out["a"]._data, [0, 1, 2])


@pytest.mark.parametrize(
    "tensors, metadata, match",
    [
        ([ember.ones(1)], None, "dict of str"),
        ({1: ember.ones(1)}, None, "names must be str"),
        ({"__metadata__": ember.ones(1)}, None, "names must be str"),
        ({"a": np.ones(1)}, None, r"tensors\['a'\] is a ndarray"),
        ({"a": ember.ones(1)}, {"k": 1}, "metadata"),
    ],
)
def test_bad_arguments(tensors, metadata, match):
    with pytest.raises(TypeError, match=match):
        ember.save_safetensors(tensors, io.BytesIO(), metadata=metadata)
