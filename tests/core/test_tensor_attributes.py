"""Tensor attributes and conversions, each compared with torch on the same NumPy data."""

import copy
import pickle

import numpy as np
import pytest
import torch

import ember

DATA = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7 - 1


def both(data=DATA, **kw):
    return ember.tensor(data, **kw), torch.tensor(data, **kw)


def same_dtype(e, t):
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], (e.dtype, t.dtype)


def same(e, t):
    """Values, shape and dtype agree."""
    same_dtype(e, t)
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(np.asarray(e.detach()), t.detach().numpy())


@pytest.mark.parametrize("shape", [(), (0,), (5,), (2, 3, 4), (1, 0, 3)])
def test_shape_queries(shape):
    data = np.ones(shape, np.float32)
    e, t = both(data)
    assert tuple(e.shape) == tuple(t.shape) and e.shape == t.shape
    assert e.size() == t.size() and repr(e.size()) == repr(t.size()).replace("torch", "ember")
    assert e.dim() == t.dim() and e.ndim == t.ndim and e.numel() == t.numel()
    for d in range(-len(shape), len(shape)):
        assert e.size(d) == t.size(d)
    if t.numel():  # empty: see test_empty_strides.py (PyTorch keeps NumPy's zero strides here)
        assert e.stride() == t.stride()
    assert e.is_contiguous() == t.is_contiguous()


def test_size_is_a_tuple_with_numel_and_slicing():
    e, t = both()
    assert isinstance(e.size(), tuple)
    assert e.size()[1:] == t.size()[1:] and e.size().numel() == t.size().numel()
    with pytest.raises(IndexError, match="Dimension out of range"):
        e.size(3)
    with pytest.raises(IndexError):
        t.size(3)


def test_dtype_device_and_flags():
    e, t = both()
    same_dtype(e, t)
    assert str(e.device) == str(t.device) == "cpu"
    assert e.device == ember.device("cpu") and e.device.type == "cpu"
    assert not e.requires_grad and e.grad is None and e.grad_fn is None and e.is_leaf
    assert e.is_floating_point() and not ember.tensor([1]).is_floating_point()


def test_is_leaf_grad_fn_and_requires_grad_propagation():
    e, t = both(requires_grad=True)
    for x in (e, t):
        y = x * 2
        assert x.is_leaf and not y.is_leaf and y.requires_grad
        assert y.grad_fn is not None and x.grad_fn is None
        assert (x.detach() * 2).is_leaf
    assert e.mul(2).grad_fn.name() == t.mul(2).grad_fn.name() == "MulBackward0"
    assert repr(e.mul(2).grad_fn).startswith("<MulBackward0 object")


def test_int_tensor_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating point"):
        ember.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="floating point"):
        ember.tensor([1, 2], requires_grad=True)


def test_non_leaf_requires_grad_cannot_be_turned_off():
    x = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf"):
        (x * 2).requires_grad_(False)


def test_data_shares_memory_and_is_detached():
    e, t = both(requires_grad=True)
    for x in (e, t):
        d = x.data
        assert not d.requires_grad and d.is_leaf
        d[0, 0, 0] = 100.0
        assert x[0, 0, 0].item() == 100.0
    e.data = ember.zeros(3)
    t.data = torch.zeros(3)
    same(e, t)
    assert e.requires_grad


def test_T_and_mT():
    e, t = both(DATA[0])
    same(e.T, t.T)
    same(e.mT, t.mT)
    e3, t3 = both()
    same(e3.mT, t3.mT)
    assert e.T.stride() == t.T.stride()
    assert not e.T.is_contiguous() and e.T.contiguous().is_contiguous()


@pytest.mark.parametrize(
    "data", [np.float32(1.5), np.array([2.5], np.float64), np.array([[3]], np.int64), True]
)
def test_item(data):
    e, t = ember.tensor(data), torch.tensor(data)
    assert e.item() == t.item() and type(e.item()) is type(t.item())


def test_item_needs_one_element():
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted"):
        ember.tensor([1.0, 2.0]).item()


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32", "bool", "uint8"])
def test_tolist(dtype):
    data = (np.arange(6).reshape(2, 3) % 3).astype(dtype)
    e, t = ember.tensor(data), torch.tensor(data)
    assert e.tolist() == t.tolist()
    assert type(e.tolist()[0][0]) is type(t.tolist()[0][0])
    assert ember.tensor(data[0, 0]).tolist() == torch.tensor(data[0, 0]).tolist()


def test_numpy_shares_memory_and_refuses_grad():
    e = ember.tensor(DATA)
    a = e.numpy()
    a[0, 0, 0] = 42
    assert e[0, 0, 0].item() == 42
    r = ember.tensor(DATA, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        r.numpy()
    np.testing.assert_array_equal(r.detach().numpy(), DATA)
    np.testing.assert_array_equal(r.numpy(force=True), DATA)


def test_array_protocol():
    e, t = both()
    np.testing.assert_array_equal(np.asarray(e), np.asarray(t))
    assert np.asarray(e, dtype=np.float64).dtype == np.float64
    np.testing.assert_allclose(np.sin(np.asarray(e)), np.sin(DATA))


def test_len_iter_bool():
    e, t = both()
    assert len(e) == len(t) == 2
    rows = list(e)
    assert len(rows) == 2 and all(isinstance(r, ember.Tensor) for r in rows)
    for r, rt in zip(rows, t):
        same(r, rt)
    for x in (e, t):
        with pytest.raises(TypeError):
            len(x.sum())
        with pytest.raises(TypeError):
            iter(x.sum())
    assert bool(ember.tensor([0.5])) is True and bool(ember.tensor(0)) is False
    for x in (e, t):
        with pytest.raises(RuntimeError, match="more than one value is ambiguous"):
            bool(x)
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(ember.tensor([]))


def test_iteration_is_differentiable():
    x = ember.tensor(DATA[0], requires_grad=True)
    sum(r.sum() * i for i, r in enumerate(x)).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0] * 4, [1] * 4, [2] * 4])


@pytest.mark.parametrize(
    "conv", ["float", "double", "half", "long", "int", "bool", "short", "byte", "char"]
)
def test_dtype_converters(conv):
    e, t = both()
    same(getattr(e, conv)(), getattr(t, conv)())


def test_converter_to_same_dtype_returns_self():
    e = ember.tensor(DATA)
    assert e.float() is e and e.to(ember.float32) is e and e.to("cpu") is e
    assert e.to(ember.float32, copy=True) is not e


@pytest.mark.parametrize(
    "args,kwargs",
    [
        ((ember.float64,), {}),
        (("cpu",), {}),
        (("cpu", ember.int32), {}),
        ((), {"dtype": ember.float16}),
        ((), {"device": "cpu", "dtype": ember.int64}),
    ],
)
def test_to(args, kwargs):
    def conv(lib, v):
        if isinstance(v, ember.dtype):
            return getattr(lib, str(v).split(".")[-1])
        return v

    e, t = both()
    targs = tuple(conv(torch, a) for a in args)
    tkw = {k: conv(torch, v) for k, v in kwargs.items()}
    same(e.to(*args, **kwargs), t.to(*targs, **tkw))


def test_to_other_tensor_and_to_is_differentiable():
    e, t = both(requires_grad=True)
    for x, lib in ((e, ember), (t, torch)):
        y = x.to(lib.tensor([1], dtype=lib.float64))
        assert y.dtype == lib.float64 and y.requires_grad
        y.sum().backward()
        assert x.grad.dtype == lib.float32
    same(e.grad, t.grad)


def test_type():
    e, t = both()
    assert e.type() == t.type() == "torch.FloatTensor"
    assert e.long().type() == t.long().type()
    same(e.type(ember.float64), t.type(torch.float64))
    same(e.type("torch.IntTensor"), t.type("torch.IntTensor"))


def test_clone_copies_and_keeps_the_graph():
    e, t = both(requires_grad=True)
    for x in (e, t):
        c = x.clone()
        assert c.grad_fn is not None and c.data_ptr() != x.data_ptr()
        (c * 3).sum().backward()
    same(e.grad, t.grad)
    c = ember.tensor(DATA).clone()
    c[0] = 0
    assert ember.tensor(DATA).sum().item() != c.sum().item()


def test_contiguous():
    e, t = both()
    for x in (e, t):
        assert x.contiguous() is x
        v = x.transpose(0, 2)
        assert not v.is_contiguous()
        c = v.contiguous()
        assert c.is_contiguous() and c.stride() == (6, 2, 1)
    same(e.transpose(0, 2).contiguous(), t.transpose(0, 2).contiguous())


@pytest.mark.parametrize(
    "view",
    [
        lambda x: x[1],
        lambda x: x[:, 1:],
        lambda x: x[..., ::2],
        lambda x: x.transpose(0, 1),
        lambda x: x.permute(2, 0, 1),
        lambda x: x.view(6, 4),
        lambda x: x.unsqueeze(1),
        lambda x: x[0, :, :1].expand(3, 4),
        lambda x: x.narrow(2, 1, 2),
        lambda x: x.mT,
    ],
)
def test_views_stride_offset_and_shared_storage(view):
    e, t = both()
    ve, vt = view(e), view(t)
    same(ve, vt)
    assert ve.stride() == vt.stride()
    assert ve.storage_offset() == vt.storage_offset()
    assert ve.untyped_storage().data_ptr() == e.untyped_storage().data_ptr()
    assert ve.is_contiguous() == vt.is_contiguous()


def test_writes_through_a_view_reach_the_base():
    e, t = both()
    for x in (e, t):
        v = x.transpose(0, 2)[1]
        v.fill_(9.0)
        x[0].view(-1)[:2] = -1.0
    same(e, t)


def test_deepcopy_of_leaves():
    e = ember.tensor(DATA, requires_grad=True)
    (e * 2).sum().backward()
    c = copy.deepcopy(e)
    assert c is not e and c.requires_grad and c.is_leaf
    assert c.data_ptr() != e.data_ptr()
    np.testing.assert_array_equal(c.detach().numpy(), DATA)
    np.testing.assert_array_equal(c.grad.numpy(), e.grad.numpy())
    c.grad.zero_()
    assert e.grad.sum().item() == 48.0


def test_deepcopy_preserves_sharing_within_the_copied_object():
    e = ember.tensor(DATA)
    pair = copy.deepcopy([e, e, e[0]])
    assert pair[0] is pair[1]


def test_deepcopy_of_non_leaf_raises():
    x = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(x * 2)


@pytest.mark.parametrize("dtype", [ember.float32, ember.float64, ember.int64, ember.bool])
def test_pickle_roundtrip(dtype):
    e = ember.tensor(DATA).to(dtype)
    back = pickle.loads(pickle.dumps(e))
    assert back.dtype == dtype and back.shape == e.shape
    np.testing.assert_array_equal(back.numpy(), e.numpy())


def test_pickle_keeps_requires_grad_of_a_view():
    e = ember.tensor(DATA, requires_grad=True)
    back = pickle.loads(pickle.dumps(e))
    assert back.requires_grad and back.is_leaf
    v = ember.tensor(DATA).transpose(0, 2)
    back = pickle.loads(pickle.dumps(v))
    np.testing.assert_array_equal(back.numpy(), v.numpy())


def test_pickle_of_non_leaf_gives_a_leaf_like_torch():
    for lib in (ember, torch):
        x = lib.ones(2, requires_grad=True)
        back = pickle.loads(pickle.dumps(x * 2))
        assert back.requires_grad and back.is_leaf and back.grad_fn is None
        assert back.tolist() == [2.0, 2.0]
