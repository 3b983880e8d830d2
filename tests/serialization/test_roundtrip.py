"""ember.save / ember.load round trips (PyTorch's zip format, read back by ember)."""

import io
import math
import pathlib
from collections import OrderedDict

import ml_dtypes
import numpy as np
import pytest

import ember
from ember._tensor import wrap
from ember.nn import Parameter

DTYPES = [
    np.float16, ml_dtypes.bfloat16, np.float32, np.float64, np.int8, np.int16, np.int32,
    np.int64, np.uint8, np.bool_, np.complex64,
]  # fmt: skip


def roundtrip(obj, **load_kwargs):
    buf = io.BytesIO()
    ember.save(obj, buf)
    buf.seek(0)
    return ember.load(buf, **load_kwargs)


def sample(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    return np.asarray(rng.standard_normal(shape) * 10).astype(dtype)


def same(t, arr):
    assert isinstance(t, ember.Tensor)
    assert t._data.dtype == arr.dtype and t._data.shape == arr.shape
    np.testing.assert_array_equal(
        t._data.astype(np.float64) if arr.dtype == ml_dtypes.bfloat16 else t._data, arr
    )


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (5,), (2, 3, 4)])
def test_every_dtype_and_shape(dtype, shape):
    arr = sample(dtype, shape)
    out = roundtrip({"x": ember.from_numpy(arr.copy())})
    same(out["x"], arr)
    assert out["x"].dtype == ember.from_numpy(arr).dtype


def test_non_contiguous_views_keep_values_and_layout():
    base = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    views = {
        "t": base.transpose(2, 0, 1),
        "step": base[:, ::2, 1::2],
        "neg": base[::-1, :, ::-2],
        "expanded": np.broadcast_to(base[0, 0], (4, 5)),
    }
    out = roundtrip({k: wrap(v) for k, v in views.items()})
    for k, v in views.items():
        np.testing.assert_array_equal(out[k]._data, v)
        if k == "neg":  # a PyTorch storage has no negative strides: saved as a copy
            assert out[k]._data.flags.c_contiguous
            assert not np.shares_memory(out[k]._data, out["t"]._data)
        else:
            assert out[k]._data.strides == v.strides, k
            assert np.shares_memory(out[k]._data, out["t"]._data)


def test_shared_memory_comes_back_shared():
    w = ember.randn(4, 3)
    obj = {"enc": w, "dec": w, "alias": wrap(w._data), "row": w[1], "col": w[:, 2]}
    out = roundtrip(obj)
    assert out["enc"] is out["dec"]  # one object saved twice is one object
    assert out["alias"] is not out["enc"]
    out["enc"][1, 2] = 123.0
    for k in ("alias", "row", "col"):
        assert np.shares_memory(out[k]._data, out["enc"]._data)
    assert out["alias"][1, 2].item() == 123.0
    assert out["row"][2].item() == 123.0
    assert out["col"][1].item() == 123.0


def test_disjoint_tensors_do_not_share_storage():
    out = roundtrip({"a": ember.ones(3), "b": ember.zeros(3)})
    a, b = out["a"], out["b"]
    assert a.untyped_storage().data_ptr() != b.untyped_storage().data_ptr()
    assert a.storage_offset() == 0


def test_parameters_and_requires_grad():
    p = Parameter(ember.randn(2, 2))
    frozen = Parameter(ember.randn(2), requires_grad=False)
    leaf = ember.randn(3, requires_grad=True)
    out = roundtrip({"p": p, "frozen": frozen, "leaf": leaf, "plain": ember.ones(1)})
    assert type(out["p"]) is Parameter and out["p"].requires_grad
    assert type(out["frozen"]) is Parameter and not out["frozen"].requires_grad
    assert type(out["leaf"]) is ember.Tensor and out["leaf"].requires_grad and out["leaf"].is_leaf
    assert not out["plain"].requires_grad
    np.testing.assert_array_equal(out["p"]._data, p._data)


def test_containers_and_scalars():
    obj = OrderedDict(
        state={0: {"step": ember.tensor(3.0)}, 7: {}},
        groups=[{"lr": 0.1, "betas": (0.9, 0.999), "nesterov": False, "foreach": None}],
        floats=[math.inf, -math.inf, 1e-300, -0.0, 2.5],
        keys={1.5: "f", True: "b", None: "n", "s": 1},
        big=10**40,
        text="héllo ✓",
        nested=(1, [2, (3, {"x": [None]})]),
    )
    out = roundtrip(obj)
    assert type(out) is OrderedDict and list(out) == list(obj)
    assert out["state"][0]["step"].item() == 3.0 and list(out["state"]) == [0, 7]
    assert out["groups"] == obj["groups"]
    assert type(out["groups"][0]["betas"]) is tuple
    assert out["floats"] == obj["floats"] and math.copysign(1, out["floats"][3]) == -1
    assert out["keys"] == obj["keys"] and type(list(out["keys"])[1]) is bool
    assert out["big"] == 10**40 and out["text"] == obj["text"] and out["nested"] == obj["nested"]
    nan = roundtrip([math.nan])
    assert math.isnan(nan[0])
    assert roundtrip(5) == 5 and roundtrip(None) is None and roundtrip("x") == "x"


def test_bare_tensor_and_paths(tmp_path):
    t = ember.arange(6).reshape(2, 3)
    for path in (str(tmp_path / "a.pt"), tmp_path / "b.pt", pathlib.PurePath(tmp_path / "c.pt")):
        ember.save(t, path)
        same(ember.load(path), t._data)
    with open(tmp_path / "d.pt", "wb") as f:
        ember.save([t], f)
    with open(tmp_path / "d.pt", "rb") as f:
        same(ember.load(f)[0], t._data)


class Point:
    """A user class: saved by pickle, refused by weights_only loading unless admitted."""

    def __init__(self, x):
        self.x = x

    def __eq__(self, other):
        return type(other) is Point and other.x == self.x


@pytest.mark.parametrize(
    "obj",
    [
        {"s": {1, 2}},
        {"b": b"bytes", "ba": bytearray(b"ab")},
        {"c": 1 + 2j},
        {"n": np.int64(3)},
        {"a": np.arange(3.0)},
        {"k": {(1, 2): 3}},
        {"p": Point(3)},
    ],
    ids=["set", "bytes", "complex", "numpy-scalar", "numpy-array", "tuple-key", "class"],
)
def test_any_picklable_object_and_weights_only_agree_with_torch(obj):
    import pickle

    import torch

    tbuf = io.BytesIO()
    torch.save(obj, tbuf)
    try:
        torch.load(io.BytesIO(tbuf.getvalue()))
        torch_refuses = False
    except pickle.UnpicklingError:
        torch_refuses = True
    buf = io.BytesIO()
    ember.save(obj, buf)
    if torch_refuses:
        with pytest.raises(ember.serialization.UnsafeCheckpointError, match="global"):
            ember.load(io.BytesIO(buf.getvalue()))
    else:
        out = ember.load(io.BytesIO(buf.getvalue()))
        assert out == obj and type(out[next(iter(obj))]) is type(obj[next(iter(obj))])
    out = ember.load(io.BytesIO(buf.getvalue()), weights_only=False)
    for k, v in obj.items():
        np.testing.assert_array_equal(out[k], v) if isinstance(v, np.ndarray) else None
        assert type(out[k]) is type(v) and (isinstance(v, np.ndarray) or out[k] == v)


def test_safe_globals_admit_a_class():
    buf = io.BytesIO()
    ember.save({"p": Point(ember.ones(2))}, buf)
    data = buf.getvalue()
    with pytest.raises(ember.serialization.UnsafeCheckpointError, match="Point"):
        ember.load(io.BytesIO(data))
    with ember.serialization.safe_globals([Point]):
        assert ember.serialization.get_safe_globals() == [Point]
        out = ember.load(io.BytesIO(data))
    assert type(out["p"]) is Point and out["p"].x.tolist() == [1.0, 1.0]
    assert ember.serialization.get_safe_globals() == []
    ember.serialization.add_safe_globals([(Point, f"{__name__}.Point")])
    try:
        assert type(ember.load(io.BytesIO(data))["p"]) is Point
    finally:
        ember.serialization.clear_safe_globals()
    with pytest.raises(ember.serialization.UnsafeCheckpointError):
        ember.load(io.BytesIO(data))
    with pytest.raises(TypeError, match="list"):
        ember.serialization.add_safe_globals(Point)
    with pytest.raises(TypeError, match="module.name"):
        ember.serialization.add_safe_globals([(Point, 3)])
    assert ember.serialization.get_safe_globals() == []


def test_load_arguments():
    buf = io.BytesIO()
    ember.save({"a": 1}, buf)
    assert ember.load(io.BytesIO(buf.getvalue()), encoding="latin1") == {"a": 1}
    with pytest.raises(TypeError, match="fix_imports"):
        ember.load(io.BytesIO(buf.getvalue()), fix_imports=False)
    assert ember.load(io.BytesIO(buf.getvalue()), weights_only=False, fix_imports=False) == {"a": 1}


def test_cycles_and_shared_containers():
    loop = []
    loop.append(loop)
    inner = {"x": 1}
    out = roundtrip({"loop": loop, "a": inner, "b": inner}, weights_only=False)
    assert out["loop"][0] is out["loop"] and out["a"] is out["b"]


def test_unpicklable_object_leaves_no_file(tmp_path):
    target = tmp_path / "x.pt"
    import pickle

    with pytest.raises(pickle.PicklingError):
        ember.save({"f": lambda: 0}, target)
    assert list(tmp_path.iterdir()) == []


def test_non_leaf_requiring_grad_loads_as_torch_does():
    import torch

    tx = torch.randn(3, requires_grad=True)
    tbuf = io.BytesIO()
    torch.save({"y": tx * 2}, tbuf)
    expected = torch.load(io.BytesIO(tbuf.getvalue()))["y"]
    x = ember.tensor(tx.detach().numpy(), requires_grad=True)
    out = roundtrip({"y": x * 2})["y"]
    assert out.requires_grad == expected.requires_grad and out.is_leaf == expected.is_leaf
    np.testing.assert_array_equal(out._data, expected.detach().numpy())


def test_text_file_objects_are_refused(tmp_path):
    with open(tmp_path / "t.txt", "w") as f, pytest.raises(TypeError, match="binary"):
        ember.save({}, f)
    with pytest.raises(TypeError, match="path or a binary file"):
        ember.save({}, 3)


def test_map_location():
    a = ember.arange(4.0)
    obj = {"a": a, "b": a[1:]}
    seen = []

    def spy(storage, location):
        seen.append((location, storage.dtype, storage.shape))
        return storage

    for ml in (
        "cpu",
        ember.device("cpu"),
        {"cpu": "cpu"},
        {"cuda:1": "cuda:0"},
        spy,
        lambda s, loc: None,
    ):
        out = roundtrip(obj, map_location=ml)
        assert out["a"].device == ember.device("cpu")
        np.testing.assert_array_equal(out["b"]._data, [1, 2, 3])
        assert np.shares_memory(out["a"]._data, out["b"]._data)
    assert seen == [("cpu", ember.uint8, ember.Size([16]))]  # the shared span, padded to 8
    with pytest.raises(TypeError, match="map_location"):
        roundtrip(obj, map_location=3)
    with pytest.raises(TypeError, match="map_location"):
        roundtrip(obj, map_location=lambda s, loc: "cpu")


@pytest.mark.skipif(ember.cuda.is_available(), reason="checks the error without a GPU")
def test_map_location_to_missing_cuda_is_a_clear_error():
    with pytest.raises(RuntimeError, match="map_location='cpu'"):
        roundtrip({"a": ember.ones(2)}, map_location="cuda")


def test_loaded_tensors_are_writable_and_independent_of_the_buffer():
    buf = io.BytesIO()
    ember.save({"a": ember.zeros(3)}, buf)
    out = ember.load(io.BytesIO(buf.getvalue()))
    out["a"].add_(1)
    np.testing.assert_array_equal(out["a"]._data, [1, 1, 1])


def test_non_seekable_stream():
    buf = io.BytesIO()
    ember.save({"a": ember.ones(2)}, buf)

    class Stream(io.RawIOBase):
        def __init__(self, data):
            self.inner = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, b):
            return self.inner.readinto(b)

    np.testing.assert_array_equal(ember.load(Stream(buf.getvalue()))["a"]._data, [1, 1])
