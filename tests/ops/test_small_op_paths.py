"""The short ways small ops take (stack as one node, views of contiguous memory, indexing and
assignment without a graph, small sums, comparisons of tensors that require grad): values,
dtypes, gradients, shared memory, version counters and errors as PyTorch's."""

import numpy as np
import pytest
import torch

import ember


def _pair(shape, seed=0, dtype=np.float32):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return torch.tensor(a), ember.tensor(a)


def _same(got, want):
    assert tuple(got.shape) == tuple(want.shape)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_stack_values_and_gradients(dim):
    arrays = [np.random.default_rng(i).standard_normal((3, 4)).astype(np.float32)
              for i in range(5)]  # fmt: skip
    weights = np.random.default_rng(9).standard_normal(60).astype(np.float32)
    grads = {}
    for lib in (torch, ember):
        xs = [lib.tensor(a, requires_grad=True) for a in arrays]
        out = lib.stack(xs, dim)
        (out * lib.tensor(weights).reshape(out.shape)).sum().backward()
        grads[lib] = (out, [x.grad for x in xs])
    _same(grads[ember][0], grads[torch][0])
    for got, want in zip(grads[ember][1], grads[torch][1]):
        _same(got, want)
    assert grads[ember][0].grad_fn.name() == grads[torch][0].grad_fn.name() == "StackBackward0"


def test_stack_double_backward_matches_torch():
    results = []
    for lib in (torch, ember):
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        y = lib.stack([x * x, x.sin()]).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), x)
        results.append((g, gg))
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: [lib.zeros(16, dtype=lib.long) + i for i in range(32)],
        lambda lib: [lib.ones(1, 4, 4) * i for i in range(3)],
        lambda lib: [lib.tensor(1.5), lib.tensor(2)],  # 0-d, promoted
        lambda lib: [lib.ones(2, dtype=lib.int32), lib.ones(2, dtype=lib.float64)],
        lambda lib: [lib.arange(6.0).view(2, 3).t(), lib.ones(3, 2)],  # not contiguous
    ],
)
def test_stack_of_samples_matches_torch(make):
    _same(ember.stack(make(ember)), torch.stack(make(torch)))
    _same(ember.stack(make(ember), -1), torch.stack(make(torch), -1))


def test_stack_and_cat_refuse_what_torch_refuses():
    for lib in (torch, ember):
        with pytest.raises(TypeError, match="expected Tensor as element 1 in argument 0"):
            lib.stack([lib.ones(2), [1.0, 2.0]])
        with pytest.raises(TypeError, match="expected Tensor as element 0 in argument 0"):
            lib.cat([np.ones(2), lib.ones(2)])
        with pytest.raises(RuntimeError, match=r"stack expects each tensor to be equal size"):
            lib.stack([lib.ones(2), lib.ones(3)])
        with pytest.raises(RuntimeError, match="Sizes of tensors must match except in dimension"):
            lib.cat([lib.ones(2, 3), lib.ones(3, 2)])


def test_stack_on_the_meta_device():
    with ember.device("meta"):
        out = ember.stack([ember.zeros(2, 3), ember.zeros(2, 3)])
    assert out.is_meta and tuple(out.shape) == (2, 2, 3)


@pytest.mark.parametrize(
    "shape", [(16, 8), (-1,), (2, -1, 4), ((4, 32),), ([128],), (0, -1), (2, 2, 2, -1)]
)
def test_view_and_reshape_shapes_match_torch(shape):
    want, got = _pair((8, 16))
    for method in ("view", "reshape"):
        try:
            w = getattr(want, method)(*shape)
        except RuntimeError:
            with pytest.raises(RuntimeError):
                getattr(got, method)(*shape)
            continue
        _same(getattr(got, method)(*shape), w)


def test_view_of_contiguous_memory_shares_it_and_bad_shapes_raise():
    x = ember.zeros(4, 6)
    v = x.view(3, 8)
    v.add_(1.0)
    assert x.sum().item() == 24 and x._version == v._version == 1
    for bad in [(5, 5), (-1, -1), (7, -1), (2, -2)]:
        with pytest.raises(RuntimeError):
            x.view(*bad)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        x.t().view(24)


KEYS = [
    1, -1, slice(1, 3), (slice(None), 0), (0, 2), (Ellipsis, 1), (None, 1, slice(None, None, 2)),
    (slice(1, None), None, Ellipsis), (0, Ellipsis, 3),
]  # fmt: skip


@pytest.mark.parametrize("key", KEYS)
def test_basic_indexing_is_a_view_as_in_torch(key):
    want, got = _pair((3, 4, 5))
    w, g = want[key], got[key]
    _same(g, w)
    g.add_(1.0)  # writes through the view into the tensor, and bumps the shared version
    w.add_(1.0)
    _same(got, want)
    assert got._version == g._version == 1


@pytest.mark.parametrize(
    "key, message",
    [
        ((0, 4), "index 4 is out of bounds for dimension 1 with size 4"),
        ((0, 0, 0, 0), "too many indices for tensor of dimension 3"),
        ((slice(None), -5), "index -5 is out of bounds for dimension 1 with size 4"),
    ],
)
def test_basic_indexing_errors_name_the_dimension(key, message):
    x = ember.zeros(3, 4, 5)
    with pytest.raises(IndexError, match=message):
        x[key]
    with pytest.raises(IndexError, match=message):
        x[key] = 1.0


def test_advanced_indexing_without_grad_matches_torch_and_copies():
    want, got = _pair((4, 5))
    for key in (
        [0, 2],
        ([1, 3], slice(None)),
        (slice(None), [4, -5]),
        "mask",
        ([[0], [3]], [1, 2]),
    ):
        if key == "mask":
            w, g = want[want > 0], got[got > 0]
        else:
            tk = tuple(torch.tensor(k) if isinstance(k, list) else k for k in
                       (key if isinstance(key, tuple) else (key,)))  # fmt: skip
            ek = tuple(ember.tensor(k) if isinstance(k, list) else k for k in
                       (key if isinstance(key, tuple) else (key,)))  # fmt: skip
            w, g = want[tk], got[ek]
        _same(g, w)
        g.zero_()  # a copy: the source keeps its values
        _same(got, want)
    with pytest.raises(IndexError, match="index 4 is out of bounds for dimension 0 with size 4"):
        got[ember.tensor([0, 4])]
    with pytest.raises(IndexError, match="The shape of the mask"):
        got[ember.tensor([True, False])]


def test_indexing_a_tensor_that_requires_grad_still_records():
    values = np.arange(8.0, dtype=np.float32).reshape(2, 4)
    for key in (slice(1, 2), (0, 1), (1, [2, 0, 2])):
        grads = []
        for lib in (torch, ember):
            x = lib.tensor(values, requires_grad=True)
            k = tuple(lib.tensor(p) if isinstance(p, list) else p for p in key) if isinstance(
                key, tuple) else key  # fmt: skip
            y = x[k]
            assert y.grad_fn is not None
            (y * y).sum().backward()
            grads.append(x.grad)
        _same(grads[1], grads[0])


@pytest.mark.parametrize(
    "key, value",
    [
        (slice(1, 6), lambda lib: lib.tensor([1, 2, 3, 4, 5])),
        (slice(6, None), lambda lib: -1),
        ((0,), lambda lib: lib.tensor(7.9)),  # float into long truncates
        ("mask", lambda lib: 3),
        ("index", lambda lib: lib.tensor([10, 20])),
    ],
)
def test_assignment_without_grad_matches_torch(key, value):
    outs = []
    for lib in (torch, ember):
        v = lib.zeros(16, dtype=lib.long)
        view = v[4:]
        k = key
        if isinstance(key, str):
            k = lib.arange(16) % 3 == 0 if key == "mask" else lib.tensor([2, 5])
        v[k] = value(lib)
        outs.append((v, view, v._version))
    _same(outs[1][0], outs[0][0])
    _same(outs[1][1], outs[0][1])  # the view sees the write
    assert outs[1][2] == outs[0][2]


def test_assignment_records_where_a_gradient_flows():
    for lib in (torch, ember):
        w = lib.ones(3, requires_grad=True)
        with lib.no_grad():
            w[0] = 5.0  # allowed under no_grad, and not recorded
        assert w.grad_fn is None and w.tolist() == [5.0, 1.0, 1.0]
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            w[1] = 2.0
        a = lib.zeros(3)
        b = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        a[1:] = b[1:] * 2
        assert a.grad_fn is not None
        a.sum().backward()
        assert b.grad.tolist() == [0.0, 2.0, 2.0]


def test_assignment_shape_errors_are_runtime_errors():
    x = ember.zeros(3, 4)
    with pytest.raises(RuntimeError, match="__setitem__"):
        x[0] = ember.ones(3)
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        x[3] = 1.0


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int32, np.bool_])
@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
def test_small_sums_match_torch(dtype, dim):
    a = np.random.default_rng(3).standard_normal((5, 7)) * 4
    a = a.astype(dtype)
    want, got = torch.tensor(a), ember.tensor(a)
    w = want.sum() if dim is None else want.sum(dim)
    g = got.sum() if dim is None else got.sum(dim)
    assert str(g.dtype).split(".")[-1] == str(w.dtype).split(".")[-1]
    tolerance = 2e-3 if dtype == np.float16 else 1e-6
    np.testing.assert_allclose(g.numpy().astype(float), w.numpy().astype(float), rtol=tolerance)
    if dtype in (np.float32, np.float64):
        w, g = (want.mean(), got.mean()) if dim is None else (want.mean(dim), got.mean(dim))
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("size", [(6, 9), (64, 4099)])
def test_argmax_and_argmin_give_the_first_nan_as_torch(dtype, size):
    rng = np.random.default_rng(5)
    a = rng.standard_normal(size).astype(dtype)
    a[rng.random(size) < 0.01] = np.nan
    a[rng.random(size) < 0.01] = np.inf
    a[0, -1] = np.nan
    want, got = torch.tensor(a), ember.tensor(a)
    for name in ("argmax", "argmin"):
        for dim in (None, 0, 1):
            args = () if dim is None else (dim,)
            _same(getattr(got, name)(*args), getattr(want, name)(*args))
            if dim is not None:
                _same(getattr(got, name)(dim, keepdim=True), getattr(want, name)(dim, keepdim=True))


def test_comparisons_of_tensors_that_require_grad():
    want = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    got = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for op in ("__eq__", "__lt__", "__ge__", "__ne__"):
        w, g = getattr(want, op)(2.0), getattr(got, op)(got.detach() * 0 + 2.0)
        _same(g, w)
        assert not g.requires_grad and g.grad_fn is None and g.is_leaf


def test_masked_fill_broadcasts_and_refuses_shapes_as_torch():
    for lib in (torch, ember):
        x = lib.zeros(2, 3)
        assert lib.equal(x.masked_fill(lib.tensor([True, False, True]), 1.0),
                         lib.tensor([[1.0, 0.0, 1.0]] * 2))  # fmt: skip
        with pytest.raises(RuntimeError, match="must match the size"):
            x.masked_fill(lib.tensor([True, False]), 1.0)


def test_cat_gradients_with_skipped_empty_inputs_match_torch():
    grads = []
    for lib in (torch, ember):
        empty = lib.zeros(0, requires_grad=True)
        a = lib.arange(6.0).reshape(2, 3).requires_grad_()
        b = lib.ones(1, 3, requires_grad=True)
        out = lib.cat([empty, a, empty, b])
        (out * lib.arange(9.0).reshape(3, 3)).sum().backward()
        grads.append([empty.grad, a.grad, b.grad])
        only_empty = lib.cat([empty, lib.zeros(0)])
        assert tuple(only_empty.shape) == (0,)
    for got, want in zip(grads[1], grads[0]):
        _same(got, want)


def _collated(lib, make):
    return lib.utils.data.default_collate(make(lib))


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: [(lib.tensor([i, i + 1]), lib.tensor(i * 0.5)) for i in range(6)],
        lambda lib: [np.full((2, 3), i, np.float32) for i in range(4)],
        lambda lib: [np.array([i], np.int32 if i % 2 else np.int64) for i in range(4)],  # promoted
        lambda lib: [lib.tensor([1, 2], dtype=lib.int32), lib.tensor([1.5, 2.0])],
        lambda lib: [{"x": lib.ones(2, 2) * i, "y": i} for i in range(3)],
    ],
)
def test_default_collate_matches_torch(make):
    want, got = _collated(torch, make), _collated(ember, make)
    flat_want = want.values() if isinstance(want, dict) else want
    flat_got = got.values() if isinstance(got, dict) else got
    if isinstance(want, torch.Tensor):
        flat_want, flat_got = [want], [got]
    for w, g in zip(flat_want, flat_got):
        _same(g, w)


def test_default_collate_of_tensors_that_require_grad_keeps_the_graph():
    xs = [ember.ones(2, requires_grad=True) for _ in range(3)]
    batch = ember.utils.data.default_collate(xs)
    assert batch.grad_fn is not None
    (batch * 2).sum().backward()
    assert all(x.grad.tolist() == [2.0, 2.0] for x in xs)


VIEW_OPS = [
    ("view", lambda x: x.view(4, 6)),
    ("reshape", lambda x: x.reshape(-1)),
    ("reshape_of_transposed", lambda x: x.t().reshape(24)),  # a copy, as in PyTorch
    ("unsqueeze", lambda x: x.unsqueeze(1)),
    ("squeeze", lambda x: x.unsqueeze(0).squeeze(0)),
    ("transpose", lambda x: x.transpose(0, 1)),
    ("permute", lambda x: x.permute(1, 0)),
    ("t", lambda x: x.t()),
    ("T", lambda x: x.T),
    ("flatten", lambda x: x.flatten()),
    ("movedim", lambda x: x.movedim(0, 1)),
]  # fmt: skip


@pytest.mark.parametrize("op", [pytest.param(f, id=n) for n, f in VIEW_OPS])
def test_view_ops_without_a_graph_match_torch(op):
    values = np.arange(24, dtype=np.float32).reshape(6, 4)
    want, got = torch.tensor(values), ember.tensor(values)
    w, g = op(want), op(got)
    _same(g, w)
    assert g.grad_fn is None and not g.requires_grad
    shares = np.shares_memory(g.numpy(), got.numpy())
    assert shares == np.shares_memory(w.numpy(), want.numpy())
    if shares:  # a write through the view reaches the tensor, and both see one version
        g.mul_(2.0)
        w.mul_(2.0)
        _same(got, want)
        assert got._version == g._version == 1


@pytest.mark.parametrize("op", [pytest.param(f, id=n) for n, f in VIEW_OPS])
def test_view_ops_of_tensors_that_require_grad_record(op):
    values = np.arange(24, dtype=np.float32).reshape(6, 4)
    grads = []
    for lib in (torch, ember):
        x = lib.tensor(values, requires_grad=True)
        out = op(x)
        assert out.grad_fn is not None
        (out * out).sum().backward()
        grads.append(x.grad)
    _same(grads[1], grads[0])


@pytest.mark.parametrize("op", ["__eq__", "__lt__", "__ge__", "__ne__"])
@pytest.mark.parametrize(
    "other", [lambda lib: 1.5, lambda lib: lib.tensor(2), lambda lib: lib.ones(3, 1)]
)
def test_comparisons_of_0d_and_broadcast_operands_match_torch(op, other):
    for values in (np.float32(1.5), np.arange(3, dtype=np.float32)):
        want = getattr(torch.tensor(values), op)(other(torch))
        got = getattr(ember.tensor(values), op)(other(ember))
        _same(got, want)
    with pytest.raises(RuntimeError, match="must match the size"):
        getattr(ember.ones(3), op)(ember.ones(4))
