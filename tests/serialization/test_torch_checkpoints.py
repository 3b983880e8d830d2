"""Checkpoints written by real PyTorch (test-only), read by ember and compared value by value."""

import io
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest
import torch

import ember
from ember.nn import Parameter

TORCH_DTYPES = [
    torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int8, torch.int16,
    torch.int32, torch.int64, torch.uint8, torch.bool, torch.complex64, torch.complex128,
]  # fmt: skip


def load(data, **kwargs):
    return ember.load(io.BytesIO(data), **kwargs)


def assert_same(e, t):
    """Compare an ember result with the torch object it was saved from, recursively."""
    if isinstance(t, torch.Tensor):
        assert isinstance(e, ember.Tensor), type(e)
        assert e.dtype.name == str(t.dtype).removeprefix("torch."), (e.dtype, t.dtype)
        assert tuple(e.shape) == tuple(t.shape)
        assert e.stride() == t.stride() and e.storage_offset() == t.storage_offset()
        assert e.requires_grad == t.requires_grad
        assert isinstance(e, Parameter) == isinstance(t, torch.nn.Parameter)
        if t.dtype == torch.bfloat16:
            np.testing.assert_array_equal(e._data.astype(np.float32), t.detach().float().numpy())
        else:
            np.testing.assert_array_equal(e._data, t.detach().numpy())
    elif isinstance(t, dict):
        assert type(e) is type(t) and list(e) == list(t)
        for k in t:
            assert_same(e[k], t[k])
    elif isinstance(t, list | tuple):
        assert type(e) is type(t) and len(e) == len(t)
        for a, b in zip(e, t, strict=True):
            assert_same(a, b)
    elif isinstance(t, torch.dtype):
        assert e is getattr(ember, str(t).removeprefix("torch."))
    else:
        assert e == t and type(e) is type(t)


@pytest.mark.parametrize("dtype", TORCH_DTYPES, ids=str)
def test_every_dtype(dtype, torch_bytes):
    torch.manual_seed(0)
    x = (torch.randn(3, 5) * 10).to(dtype)
    obj = {"x": x, "scalar": x[1, 2].clone(), "empty": x[:0], "t": x.t(), "step": x[::2, 1::2]}
    assert_same(load(torch_bytes(obj)), obj)


def test_views_and_shared_storages(torch_bytes):
    base = torch.arange(24.0)
    obj = OrderedDict(
        base=base, mat=base.view(4, 6), tail=base[10:], cols=base.view(4, 6)[:, ::3],
        expanded=base[:3].expand(5, 3), tied=base,
    )  # fmt: skip
    out = load(torch_bytes(obj))
    assert_same(out, obj)
    assert out["tied"] is out["base"]
    out["base"][11] = -1.0
    assert out["mat"][1, 5].item() == -1.0 and out["tail"][1].item() == -1.0


def test_nested_state_dicts_numbers_and_strings(torch_bytes):
    inner = torch.nn.Linear(3, 2).state_dict()
    obj = {
        "models": {"a": inner, "b": torch.nn.Conv2d(2, 4, 3).state_dict()},
        "epoch": 7, "loss": 0.25, "name": "run-1", "flags": [True, None], "pair": (1, 2.0),
        "dtype": torch.bfloat16, "size": torch.Size([2, 3]), "device": torch.device("cpu"),
        "raw": b"\x00\xff",
    }  # fmt: skip
    out = load(torch_bytes(obj))
    assert_same(out["models"], obj["models"])
    assert out["models"]["a"]._metadata == inner._metadata
    assert (out["epoch"], out["loss"], out["name"], out["flags"], out["pair"]) == (
        7,
        0.25,
        "run-1",
        [True, None],
        (1, 2.0),
    )
    assert out["dtype"] is ember.bfloat16 and out["size"] == (2, 3) and out["raw"] == b"\x00\xff"
    assert out["device"] == ember.device("cpu")


def test_parameters(torch_bytes):
    obj = {
        "w": torch.nn.Parameter(torch.randn(2, 3)),
        "frozen": torch.nn.Parameter(torch.ones(2), requires_grad=False),
        "leaf": torch.zeros(2, requires_grad=True),
    }
    assert_same(load(torch_bytes(obj)), obj)


class Block(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(c)
        self.conv2 = torch.nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(c)

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(x + self.bn2(self.conv2(y)))


def small_resnet():
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
        Block(8), Block(8), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
        torch.nn.Linear(8, 10),
    )  # fmt: skip


def test_resnet_and_adam_checkpoint(torch_bytes):
    torch.manual_seed(0)
    model = small_resnet()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, amsgrad=True)
    for _ in range(2):
        opt.zero_grad()
        model(torch.randn(4, 3, 8, 8)).logsumexp(1).mean().backward()
        opt.step()
    ckpt = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 2}
    out = load(torch_bytes(ckpt))
    assert_same(out, ckpt)
    assert out["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert set(out["optimizer"]["state"][0]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}


def test_file_paths_and_map_location(tmp_path):
    path = tmp_path / "w.pth"
    obj = {"a": torch.arange(6.0), "b": torch.ones(2, dtype=torch.int64)}
    torch.save(obj, path)
    calls = []

    def spy(storage, location):
        calls.append((location, storage.shape))
        return None

    for ml in (None, "cpu", {"cpu": "cpu"}, spy):
        assert_same(ember.load(str(path), map_location=ml), obj)
    assert sorted(calls) == [("cpu", ember.Size([16])), ("cpu", ember.Size([24]))]


def test_big_endian_checkpoint(tmp_path, torch_zip):
    # a little-endian checkpoint with its storage bytes swapped and 'big' recorded
    data = io.BytesIO()
    torch.save({"x": torch.arange(4, dtype=torch.int32)}, data)
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data.getvalue()))
    pkl = src.read("archive/data.pkl")
    raw = np.arange(4, dtype=">i4").tobytes()
    blob = io.BytesIO()
    with zipfile.ZipFile(blob, "w") as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/byteorder", "big")
        z.writestr("archive/data/0", raw)
    np.testing.assert_array_equal(load(blob.getvalue())["x"]._data, [0, 1, 2, 3])


def test_legacy_format_is_a_clear_error(tmp_path):
    path = tmp_path / "old.pt"
    torch.save({"a": torch.ones(1)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(ember.serialization.CheckpointError, match="legacy"):
        ember.load(path)


def test_loading_never_imports_torch(tmp_path):
    path = tmp_path / "w.pt"
    torch.save({"a": torch.ones(3)}, path)
    code = (
        "import sys, ember\n"
        f"x = ember.load({str(path)!r})\n"
        "assert x['a'].sum().item() == 3\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_pytorch_1_cuda_storage_names(torch_zip):
    """PyTorch 1.x named a CUDA tensor's storage torch.cuda.FloatStorage; it loads on the CPU."""
    pkl = (
        b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch.cuda\n"
        b"FloatStorage\nX\x01\x00\x00\x000X\x06\x00\x00\x00cuda:0K\x02tQK\x00K\x02\x85K\x01\x85"
        b"\x89ccollections\nOrderedDict\n)RtR."
    )
    raw = np.array([1.5, -2.0], np.float32).tobytes()
    out = ember.load(io.BytesIO(torch_zip(pkl, {"0": raw})), map_location="cpu")
    assert out.tolist() == [1.5, -2.0] and out.device == ember.device("cpu")


@pytest.mark.parametrize("name", ["float8_e4m3fn", "float8_e5m2"])
def test_float8_tensors_travel_both_ways_as_untyped_storages(name):
    values = torch.tensor([[0.5, -2.0, 0.0], [448.0 if "e4m3" in name else 3.0, 1.5, -0.25]])
    t = values.to(getattr(torch, name))[:, 1:]
    buffer = io.BytesIO()
    torch.save({"w": t}, buffer)
    e = load(buffer.getvalue())["w"]
    assert e.dtype is getattr(ember, name) and e.stride() == t.stride()
    np.testing.assert_array_equal(e.float().numpy(), t.float().numpy())
    back = io.BytesIO()
    ember.save({"w": e}, back)
    back.seek(0)
    reread = torch.load(back)["w"]
    assert reread.dtype == t.dtype
    assert torch.equal(reread.float(), t.float())
