"""Storages against PyTorch: UntypedStorage, TypedStorage, the legacy names, a tensor's storage
(aliasing both ways, offsets), set_, frombuffer and asarray over storages."""

import pickle
import warnings

import numpy as np
import pytest
import torch

import ember
from ember._ops import typed_storage


def _both(fn):
    """``fn(lib)`` for ember and torch: (ember's result, torch's result)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return fn(ember), fn(torch)


def _same_error(fn):
    """``fn(lib)`` raises the same exception type in ember and torch; ember's message."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(Exception) as expected:
            fn(torch)
        with pytest.raises(expected.type) as got:
            fn(ember)
    return str(got.value)


# -- UntypedStorage --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [(), (0,), (5,), ([1, 2, 3],), ([300, -1, 255],), (b"abc",), (bytearray(b"\x00\xff"),)],
    ids=["empty", "size0", "size5", "list", "wrapping", "bytes", "bytearray"],
)
def test_construction_sizes_and_contents(args):
    def make(lib):
        s = lib.UntypedStorage(*args)
        return (
            s.nbytes(),
            s.size(),
            len(s),
            s.element_size(),
            s.tolist() if args[:1] != (5,) else None,
        )

    got, want = _both(make)
    assert got == want


@pytest.mark.parametrize("arg", [2.5, "ab", -1], ids=["float", "str", "negative"])
def test_construction_errors(arg):
    _same_error(lambda lib: lib.UntypedStorage(arg))


def test_indexing_and_assignment():
    def run(lib):
        s = lib.UntypedStorage([1, 2, 3, 4, 5])
        out = [s[0], s[-1], s[1:3].tolist(), s[3:1].tolist()]
        s[1] = 300
        s[2:4] = 7
        out.append(s.tolist())
        return out

    got, want = _both(run)
    assert got == want


@pytest.mark.parametrize(
    "op",
    [
        lambda s: s[5],
        lambda s: s[-6],
        lambda s: s[::2],
        lambda s: s[1.0],
        lambda s: s.__setitem__(5, 1),
        lambda s: s.fill_(2.7),
        lambda s: s.copy_(s[1:]),
    ],
    ids=[
        "get-past-end",
        "get-before-start",
        "step",
        "float-index",
        "set-past-end",
        "fill-float",
        "copy-size-mismatch",
    ],
)
def test_indexing_errors(op):
    _same_error(lambda lib: op(lib.UntypedStorage([1, 2, 3, 4, 5])))


def test_fill_copy_clone():
    def run(lib):
        a = lib.UntypedStorage([1, 2, 3])
        b = lib.UntypedStorage(3).fill_(-1)
        c = a.clone()
        c[0] = 9
        a.copy_(b)
        return a.tolist(), b.tolist(), c.tolist(), lib.UntypedStorage(0).data_ptr()

    got, want = _both(run)
    assert got == want


def test_a_slice_is_a_storage_of_its_own_over_the_same_bytes():
    def run(lib):
        s = lib.UntypedStorage([1, 2, 3, 4, 5, 6])
        part = s[2:6]
        part[0] = 9
        t = lib.asarray(part, dtype=lib.uint8)
        t[1] = 8
        return (
            s.tolist(),
            part.data_ptr() - s.data_ptr(),
            part.nbytes(),
            t.storage_offset(),
            t.untyped_storage().nbytes(),
            t.untyped_storage().data_ptr() == part.data_ptr(),
        )

    got, want = _both(run)
    assert got == want


def test_resize_of_storage_owning_its_bytes():
    def run(lib):
        s = lib.UntypedStorage([1, 2, 3])
        s.resize_(5)
        grown = s.nbytes(), s.tolist()[:3]
        s.resize_(2)
        return grown, s.tolist()

    got, want = _both(run)
    assert got == want


def test_resize_of_memory_tensors_view_is_refused_clearly():
    t = ember.arange(4)
    with pytest.raises(RuntimeError, match="resize_: cannot resize a storage of 32 bytes"):
        t.untyped_storage().resize_(64)


def test_untyped_and_type_and_device():
    def run(lib):
        s = lib.UntypedStorage(2)
        return s.untyped() is s, s.type(), str(s.device), s.is_cuda, s.is_shared(), s.cpu() is s

    got, want = _both(run)
    assert got == want


def test_repr_lists_bytes_like_pytorch():
    assert repr(ember.UntypedStorage([1, 2])) == repr(torch.UntypedStorage([1, 2]))


def test_pickle_round_trip():
    s = ember.UntypedStorage([1, 2, 250])
    assert pickle.loads(pickle.dumps(s)).tolist() == [1, 2, 250]


# -- from_buffer / from_file ----------------------------------------------------------------


@pytest.mark.parametrize(
    "byte_order,dtype",
    [
        (None, "uint8"),
        (None, "int8"),
        ("little", "float32"),
        ("big", "int32"),
        ("native", "int16"),
        ("little", "bool"),
        ("big", "bfloat16"),
    ],
)
def test_from_buffer_copies_in_native_order(byte_order, dtype):
    data = bytearray(range(1, 9))

    def run(lib):
        args = () if byte_order is None else (byte_order,)
        s = lib.UntypedStorage.from_buffer(data, *args, dtype=getattr(lib, dtype))
        s[0] = 0  # a copy: the buffer is untouched
        return s.tolist()

    got, want = _both(run)
    assert got == want
    assert data == bytearray(range(1, 9))


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.UntypedStorage.from_buffer(b"\x01\x02\x03\x04", dtype=lib.float32),
        lambda lib: lib.UntypedStorage.from_buffer(b"\x01\x02\x03", "little", dtype=lib.float32),
        lambda lib: lib.UntypedStorage.from_buffer(b"\x01\x02", "middle", dtype=lib.int16),
        lambda lib: lib.UntypedStorage.from_buffer(b"\x01\x02", "little"),
    ],
    ids=["no-byte-order", "partial-element", "bad-byte-order", "no-dtype"],
)
def test_from_buffer_errors(call):
    _same_error(call)


def test_from_file_private_mapping(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(10)))

    def run(lib):
        s = lib.UntypedStorage.from_file(str(path), shared=False, nbytes=6)
        before = s.tolist()
        s.fill_(7)
        return before, s.is_shared(), lib.UntypedStorage.from_file(str(path)).nbytes()

    got, want = _both(run)
    assert got == want
    assert path.read_bytes() == bytes(range(10))


def test_from_file_shared_mapping_writes_the_file(tmp_path):
    results = []
    for lib in (ember, torch):
        path = tmp_path / f"{lib.__name__}.bin"
        path.write_bytes(b"\x01\x02")
        s = lib.UntypedStorage.from_file(str(path), shared=True, nbytes=4)
        s[3] = 9
        del s
        results.append(path.read_bytes())
    # PyTorch's shared mapping also overwrites the first byte; the rest must agree.
    assert results[0][1:] == results[1][1:] == b"\x02\x00\x09"


@pytest.mark.parametrize("nbytes", [10**6, -1], ids=["past-end", "negative"])
def test_from_file_errors(tmp_path, nbytes):
    path = tmp_path / "small.bin"
    path.write_bytes(b"abc")
    _same_error(lambda lib: lib.UntypedStorage.from_file(str(path), False, nbytes))
    _same_error(lambda lib: lib.UntypedStorage.from_file(str(tmp_path / "missing"), False, 2))


# -- a tensor's storage ----------------------------------------------------------------------

VIEWS = {
    "whole": lambda t: t,
    "slice": lambda t: t[1:],
    "row": lambda t: t.view(3, 4)[2],
    "column": lambda t: t.view(3, 4)[:, 1],
    "transpose": lambda t: t.view(3, 4).t(),
    "step": lambda t: t[1::3],
}


@pytest.mark.parametrize("view", VIEWS.values(), ids=list(VIEWS))
def test_views_share_their_base_storage(view):
    def run(lib):
        base = lib.arange(12, dtype=lib.float32)
        v = view(base)
        s = v.untyped_storage()
        return (
            s.nbytes(),
            s.data_ptr() == base.untyped_storage().data_ptr(),
            v.storage_offset(),
            v.data_ptr() - s.data_ptr(),
        )

    got, want = _both(run)
    assert got == want


def test_writes_through_storage_and_tensor_are_seen_by_both():
    def run(lib):
        t = lib.arange(4, dtype=lib.float32)
        s = t.untyped_storage()
        for i, byte in enumerate((0, 0, 128, 63)):  # 1.0 in little-endian float32
            s[i] = byte
        t[1] = 2.0
        return t.tolist(), s.tolist()[4:8]

    got, want = _both(run)
    assert got == want


def test_distinct_tensors_have_distinct_storages():
    def run(lib):
        a, b = lib.zeros(3), lib.zeros(3)
        return a.untyped_storage().data_ptr() != b.untyped_storage().data_ptr()

    assert _both(run) == (True, True)


def test_typed_storage_of_a_tensor():
    def run(lib):
        t = lib.tensor([1.5, 2.5, 3.5], dtype=lib.float64)
        s = t.storage()
        s[0] = 9.0
        return (
            str(s.dtype).split(".")[-1],
            s.size(),
            len(s),
            s.nbytes(),
            s.element_size(),
            s[1],
            s.tolist(),
            t.tolist(),
            s.data_ptr() == t.data_ptr(),
            s.type(),
            s._untyped_storage.nbytes(),
            s.untyped().nbytes(),
        )

    got, want = _both(run)
    assert got == want


def test_tensor_storage_warns_deprecation_once(monkeypatch):
    monkeypatch.setattr(typed_storage, "_warned_typed_storage", False)
    with pytest.warns(UserWarning, match="TypedStorage is deprecated"):
        ember.zeros(2).storage()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.zeros(2).storage()


@pytest.mark.parametrize(
    "args,kwargs",
    [
        ((), {}),
        ((3,), {"dtype": "int32"}),
        (([1, 2],), {"dtype": "int32"}),
        (([1.5, 2.0],), {"dtype": "int64"}),
        (([1.0, 2.0],), {}),
    ],
)
def test_typed_storage_construction(args, kwargs):
    def run(lib):
        kw = {k: getattr(lib, v) for k, v in kwargs.items()}
        s = lib.TypedStorage(*args, **kw)
        return (
            str(s.dtype).split(".")[-1],
            s.size(),
            s.nbytes(),
            s.tolist() if args and not isinstance(args[0], int) else None,
        )

    got, want = _both(run)
    assert got == want


def test_typed_storage_wrapping_and_copies():
    def run(lib):
        raw = lib.UntypedStorage([0, 0, 128, 63, 0, 0, 0, 64])
        s = lib.TypedStorage(wrap_storage=raw, dtype=lib.float32)
        c = s.clone()
        c[0] = 5.0
        s.copy_(lib.TypedStorage([3.0, 4.0], dtype=lib.float32))
        return s.tolist(), c.tolist(), raw.tolist(), pickle.loads(pickle.dumps(s)).tolist()

    got, want = _both(run)
    assert got == want


@pytest.mark.parametrize("op", [lambda s: s[5], lambda s: s[0:1]], ids=["past-end", "slice"])
def test_typed_storage_errors(op):
    _same_error(lambda lib: op(lib.TypedStorage([1, 2], dtype=lib.int32)))


@pytest.mark.parametrize("name", ["FloatStorage", "LongStorage", "ByteStorage", "BoolStorage"])
def test_legacy_storage_names(name):
    def run(lib):
        s = getattr(lib, name)([1, 0])
        t = lib.tensor([1, 0]).to(s.dtype)
        return (
            type(s).__name__,
            str(s.dtype).split(".")[-1],
            s.tolist(),
            isinstance(s, getattr(lib, name)),
            isinstance(t.storage(), getattr(lib, name)),
            isinstance(lib.zeros(1, dtype=lib.float16).storage(), getattr(lib, name)),
        )

    got, want = _both(run)
    assert got == want


def test_is_storage():
    def run(lib):
        t = lib.zeros(2)
        return lib.is_storage(t.untyped_storage()), lib.is_storage(t.storage()), lib.is_storage(t)

    got, want = _both(run)
    assert got == want


def test_shared_tensor_has_shared_storage():
    t = ember.zeros(4).share_memory_()
    assert t.untyped_storage().is_shared()
    assert t.untyped_storage().share_memory_().is_shared()
    with pytest.raises(RuntimeError, match="share_memory_: ember cannot move"):
        ember.zeros(4).untyped_storage().share_memory_()


# -- set_ ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [(), (1, (2,), (1,)), (0, (2, 2)), (1, (2, 2), (1, 2))],
    ids=["whole", "offset", "shape", "strided"],
)
def test_set_views_a_storage(args):
    def run(lib):
        base = lib.arange(6, dtype=lib.float32)
        t = lib.zeros(1)
        t.set_(base.untyped_storage(), *args)
        if t.is_contiguous():
            t.view(-1)[0] = 100.0
        return (
            t.tolist(),
            tuple(t.shape),
            t.stride(),
            t.storage_offset(),
            base.tolist(),
            t._version > 0,
        )

    got, want = _both(run)
    assert got == want


def test_set_to_a_tensor_and_to_nothing():
    def run(lib):
        a = lib.arange(4.0)
        t = lib.zeros(2)
        t.set_(a)
        t[0] = 7.0
        e = lib.zeros(3)
        e.set_()
        return a.tolist(), t.data_ptr() == a.data_ptr(), tuple(e.shape)

    got, want = _both(run)
    assert got == want


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.zeros(2).set_(lib.arange(4.0).untyped_storage(), 3, (2,), (1,)),
        lambda lib: lib.zeros(2, requires_grad=True).set_(lib.arange(4.0).untyped_storage()),
    ],
    ids=["out-of-bounds", "leaf-requiring-grad"],
)
def test_set_errors(call):
    message = _same_error(call)
    assert message


# -- frombuffer and asarray ------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"count": 2, "offset": 2}, {"count": -1, "offset": 4}, {"requires_grad": True}],
)
def test_frombuffer_shares_the_buffer(kwargs):
    def run(lib):
        data = bytearray(np.arange(1, 5, dtype=np.float32).tobytes())
        t = lib.frombuffer(data, dtype=lib.float32, **kwargs)
        values = t.tolist()
        with lib.no_grad():
            t.view(-1)[0] = 9.0
        s = t.untyped_storage()
        return (
            values,
            np.frombuffer(data, np.float32).tolist(),
            t.requires_grad,
            t.storage_offset(),
            s.nbytes(),
        )

    got, want = _both(run)
    assert got == want


@pytest.mark.parametrize(
    "buffer,kwargs",
    [
        (b"", {}),
        (bytearray(8), {"count": 0}),
        (bytearray(8), {"count": 5}),
        (bytearray(8), {"offset": -1}),
        (bytearray(8), {"offset": 8}),
        (bytearray(8), {"offset": 1}),
        ([1, 2], {}),
    ],
    ids=[
        "empty",
        "count-0",
        "count-too-big",
        "negative-offset",
        "offset-at-end",
        "partial",
        "not-a-buffer",
    ],
)
def test_frombuffer_errors(buffer, kwargs):
    message = _same_error(lambda lib: lib.frombuffer(buffer, dtype=lib.int16, **kwargs))
    with pytest.raises(ValueError) as want:
        torch.frombuffer(buffer, dtype=torch.int16, **kwargs)
    assert message == str(want.value)


def test_frombuffer_of_read_only_buffer_warns_and_copies():
    data = b"\x01\x00\x02\x00"
    with pytest.warns(UserWarning, match="not writable"):
        t = ember.frombuffer(data, dtype=ember.int16)
    t[0] = 5
    got, want = _both(lambda lib: lib.frombuffer(data, dtype=lib.int16, offset=2).tolist())
    assert got == want
    assert data == b"\x01\x00\x02\x00"


def test_asarray_of_storages_shares_bytes():
    def run(lib):
        s = lib.UntypedStorage([0, 0, 128, 63, 0, 0, 0, 64, 1])
        f = lib.asarray(s, dtype=lib.float32)
        f[0] = 3.0
        u = lib.asarray(s, dtype=lib.uint8)
        u[8] = 5
        typed = lib.asarray(lib.tensor([1.5, 2.5]).storage())
        return f.tolist(), s.tolist(), str(typed.dtype).split(".")[-1], typed.tolist()

    got, want = _both(run)
    assert got == want


def test_dtype_itemsize():
    names = ["float32", "float64", "float16", "bfloat16", "int64", "int8", "uint8", "bool"]
    assert [getattr(ember, n).itemsize for n in names] == [
        getattr(torch, n).itemsize for n in names
    ]


def test_asarray_of_untyped_storage_reads_bytes_by_default():
    s = ember.UntypedStorage([1, 2, 3])
    t = ember.asarray(s)
    t[0] = 7
    assert t.dtype is ember.uint8 and s.tolist() == [7, 2, 3]


def test_storage_module_names_the_same_classes():
    import ember.storage

    assert ember.storage.UntypedStorage is ember.UntypedStorage
    assert ember.storage.TypedStorage is ember.TypedStorage
    assert torch.storage.UntypedStorage is torch.UntypedStorage


def test_meta_tensor_storage_has_a_size_and_no_data():
    def run(lib):
        t = lib.empty(2, 3, device="meta")
        s = t.untyped_storage()
        return s.nbytes(), s.data_ptr(), str(s.device), t.t().storage_offset()

    got, want = _both(run)
    assert got == want
    _same_error(lambda lib: lib.empty(2, device="meta").untyped_storage()[0])
