"""Files written by ember.save are PyTorch checkpoints: real PyTorch (test-only) reads them."""

import io
import pickle
import zipfile
from collections import OrderedDict

import ml_dtypes
import numpy as np
import pytest
import torch

import ember
from ember._serialization import zip_writer
from ember._tensor import wrap
from ember.serialization import UnsafeCheckpointError

NP_DTYPES = [
    np.float16, ml_dtypes.bfloat16, np.float32, np.float64, np.int8, np.int16, np.int32,
    np.int64, np.uint8, np.bool_, np.complex64,
]  # fmt: skip


def ember_bytes(obj):
    buf = io.BytesIO()
    ember.save(obj, buf)
    return buf.getvalue()


def torch_load(data, **kwargs):
    return torch.load(io.BytesIO(data), **kwargs)


def assert_matches(t, e):
    """A tensor PyTorch loaded from ember's file against the ember tensor that was saved."""
    assert isinstance(t, torch.Tensor)
    assert str(t.dtype) == f"torch.{e.dtype.name}"
    assert tuple(t.shape) == tuple(e.shape) and t.stride() == e.stride()
    assert t.requires_grad == e.requires_grad
    assert isinstance(t, torch.nn.Parameter) == isinstance(e, ember.nn.Parameter)
    expected = e._data.astype(np.float32) if e.dtype == ember.bfloat16 else e._data
    got = t.detach().float() if t.dtype == torch.bfloat16 else t.detach()
    np.testing.assert_array_equal(got.numpy(), expected)


@pytest.mark.parametrize("dtype", NP_DTYPES, ids=lambda d: np.dtype(d).name)
def test_every_dtype_loads_in_torch(dtype):
    arr = (np.random.default_rng(0).standard_normal((3, 5)) * 10).astype(dtype)
    x = ember.from_numpy(arr)
    obj = {"x": x, "t": x.t(), "step": x[::2, 1::2], "scalar": x[1, 2].clone(), "empty": x[:0]}
    out = torch_load(ember_bytes(obj))
    for k in obj:
        assert_matches(out[k], obj[k])
    ptr = out["x"].untyped_storage().data_ptr()
    assert out["t"].untyped_storage().data_ptr() == ptr == out["step"].untyped_storage().data_ptr()
    assert out["step"].storage_offset() == x[::2, 1::2].storage_offset() == 1


def small_model():
    ember.manual_seed(0)
    return ember.nn.Sequential(
        ember.nn.Conv2d(3, 4, 3),
        ember.nn.BatchNorm2d(4),
        ember.nn.ReLU(),
        ember.nn.Flatten(),
        ember.nn.Linear(4 * 6 * 6, 5),
    )


def test_state_dicts_and_optimizer_state_load_in_torch():
    model = small_model()
    opt = ember.optim.Adam(model.parameters(), lr=0.01)
    model(ember.randn(2, 3, 8, 8)).sum().backward()
    opt.step()
    obj = {"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 3, "note": None,
           "loss": 0.25, "name": "run"}  # fmt: skip
    out = torch_load(ember_bytes(obj))
    assert type(out["model"]) is OrderedDict and list(out["model"]) == list(obj["model"])
    for k, v in obj["model"].items():
        assert_matches(out["model"][k], v)
    assert (out["epoch"], out["note"], out["loss"], out["name"]) == (3, None, 0.25, "run")
    assert out["opt"]["param_groups"] == obj["opt"]["param_groups"]
    for i, state in obj["opt"]["state"].items():
        for k, v in state.items():
            assert_matches(out["opt"]["state"][i][k], v)
    # the PyTorch model with the same layers takes the ember weights
    twin = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.Flatten(),
        torch.nn.Linear(4 * 6 * 6, 5),
    )  # fmt: skip
    twin.load_state_dict(out["model"])
    model.eval(), twin.eval()
    x = np.random.default_rng(1).standard_normal((2, 3, 8, 8)).astype(np.float32)
    expected = twin(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(model(ember.from_numpy(x)).detach().numpy(), expected, atol=1e-5)


def test_parameters_and_shared_storage_load_in_torch():
    w = ember.nn.Parameter(ember.randn(4, 3))
    frozen = ember.nn.Parameter(ember.randn(2), requires_grad=False)
    leaf = ember.randn(3, requires_grad=True)
    obj = {"w": w, "tied": w, "row": w[1].detach(), "frozen": frozen, "leaf": leaf,
           "nested": [(w, {"k": [frozen]})]}  # fmt: skip
    out = torch_load(ember_bytes(obj))
    assert out["tied"] is out["w"] and out["nested"][0][0] is out["w"]
    assert out["nested"][0][1]["k"][0] is out["frozen"]
    assert out["row"].untyped_storage().data_ptr() == out["w"].untyped_storage().data_ptr()
    for k in ("w", "row", "frozen", "leaf"):
        assert_matches(out[k], obj[k])


def test_pickle_is_byte_identical_to_torchs():
    """For the same state, ember writes the very pickle PyTorch writes."""
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    e = ember.from_numpy(arr.copy())
    t = torch.from_numpy(arr.copy())
    e_obj = OrderedDict(w=e, t=e.t(), p=ember.nn.Parameter(ember.ones(2)), d=ember.float16,
                        s=e.shape, n=[1, 2.5, "x", None, True])  # fmt: skip
    t_obj = OrderedDict(w=t, t=t.t(), p=torch.nn.Parameter(torch.ones(2)), d=torch.float16,
                        s=t.shape, n=[1, 2.5, "x", None, True])  # fmt: skip
    tbuf = io.BytesIO()
    torch.save(t_obj, tbuf)
    ours, theirs = zipfile.ZipFile(io.BytesIO(ember_bytes(e_obj))), zipfile.ZipFile(tbuf)
    assert ours.namelist() == theirs.namelist()
    for name in ours.namelist():
        if not name.endswith("serialization_id"):
            assert ours.read(name) == theirs.read(name), name


def test_dtypes_devices_and_sizes_load_as_torch_objects():
    obj = [ember.float16, ember.bfloat16, ember.device("cpu"), ember.device("cuda", 1),
           ember.ones(2, 3).shape]  # fmt: skip
    expected = [torch.float16, torch.bfloat16, torch.device("cpu"), torch.device("cuda", 1),
                torch.Size([2, 3])]  # fmt: skip
    out = torch_load(ember_bytes(obj))
    assert out == expected and type(out[-1]) is torch.Size
    back = ember.load(io.BytesIO(ember_bytes(obj)))
    assert back == obj and type(back[-1]) is ember.Size


def test_archive_name_and_alignment(tmp_path):
    ember.save({"a": ember.ones(3), "b": ember.zeros(5, dtype=ember.int16)}, tmp_path / "m.ckpt.pt")
    raw = (tmp_path / "m.ckpt.pt").read_bytes()
    z = zipfile.ZipFile(tmp_path / "m.ckpt.pt")
    assert all(n.startswith("m.ckpt/") for n in z.namelist())
    assert z.read("m.ckpt/byteorder") == b"little" and z.read("m.ckpt/version") == b"3\n"
    for info in z.infolist():
        start = (
            info.header_offset
            + 30
            + len(info.filename)
            + int.from_bytes(raw[info.header_offset + 28 : info.header_offset + 30], "little")
        )
        assert start % 64 == 0 and raw[start : start + info.file_size] == z.read(info.filename)
    out = torch.load(tmp_path / "m.ckpt.pt", mmap=True)
    assert out["a"].tolist() == [1, 1, 1] and out["b"].dtype == torch.int16


def test_zip64_archives(monkeypatch):
    monkeypatch.setattr(zip_writer, "ZIP64_LIMIT", 16)
    obj = {"a": ember.arange(10.0), "b": ember.ones(2)}
    data = ember_bytes(obj)
    assert torch_load(data)["a"].tolist() == list(range(10))
    assert ember.load(io.BytesIO(data))["a"].tolist() == list(range(10))


def test_layouts_torch_cannot_share_are_saved_as_copies():
    base = np.arange(12, dtype=np.float32)
    obj = {"base": wrap(base), "neg": wrap(base[::-1]), "ints": wrap(base.view(np.int32))}
    out = torch_load(ember_bytes(obj))
    np.testing.assert_array_equal(out["neg"].numpy(), base[::-1])
    np.testing.assert_array_equal(out["ints"].numpy(), base.view(np.int32))
    assert out["neg"].untyped_storage().data_ptr() != out["base"].untyped_storage().data_ptr()


def test_whole_modules_round_trip_in_ember():
    model = small_model()
    data = ember_bytes(model)
    with pytest.raises(UnsafeCheckpointError, match="ember.nn.modules.container.Sequential"):
        ember.load(io.BytesIO(data))
    loaded = ember.load(io.BytesIO(data), weights_only=False)
    assert type(loaded) is ember.nn.Sequential
    x = ember.randn(2, 3, 8, 8)
    model.eval(), loaded.eval()
    np.testing.assert_array_equal(loaded(x).detach().numpy(), model(x).detach().numpy())
    assert all(type(p) is ember.nn.Parameter and p.requires_grad for p in loaded.parameters())


def test_torch_whole_module_loads_in_ember_when_trusted():
    lin = torch.nn.Linear(3, 2)
    buf = io.BytesIO()
    torch.save(lin, buf)
    loaded = ember.load(io.BytesIO(buf.getvalue()), weights_only=False)
    assert type(loaded) is ember.nn.Linear
    for name in ("weight", "bias"):  # the very values saved
        np.testing.assert_array_equal(getattr(loaded, name).detach().numpy(),
                                      getattr(lin, name).detach().numpy())  # fmt: skip
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    expected = lin(torch.from_numpy(x)).detach().numpy()
    # the libraries' products sum in different orders: an output near 0 differs relatively
    got = loaded(ember.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_numpy_arrays_as_torch_saves_them():
    data = np.sin(np.arange(12.0)).reshape(3, 4)
    ours = ember_bytes(data)
    with pytest.raises(UnsafeCheckpointError, match="numpy"):
        ember.load(io.BytesIO(ours))
    with pytest.raises(pickle.UnpicklingError, match="numpy"):
        torch_load(ours)  # PyTorch refuses it by default too
    np.testing.assert_array_equal(ember.load(io.BytesIO(ours), weights_only=False), data)
    np.testing.assert_array_equal(torch_load(ours, weights_only=False), data)
    allowed = [data.__reduce__()[0], np.ndarray, np.dtype, type(data.dtype)]
    with ember.serialization.safe_globals(allowed):
        np.testing.assert_array_equal(ember.load(io.BytesIO(ours)), data)


def test_save_arguments():
    with pytest.raises(ValueError, match="protocol 2"):
        ember.save({}, io.BytesIO(), pickle_protocol=4)
    with pytest.raises(ValueError, match="zip"):
        ember.save({}, io.BytesIO(), _use_new_zipfile_serialization=False)
    ember.save({}, io.BytesIO(), pickle_module=pickle)
    with pytest.raises(RuntimeError, match="pickle_module"):
        ember.load(io.BytesIO(ember_bytes({})), pickle_module=pickle.__class__)
