"""ember._foreach_* against torch._foreach_*: values, the tensors written and returned, version
counts, type promotion, autograd and the errors; and the direct path of single-tensor in-place
ops that the same kernels serve."""

import numpy as np
import pytest
import torch

import ember

SHAPES = [(3, 4), (5,), (), (2, 1, 3)]


def arrays(seed, dtype=np.float32, shapes=SHAPES, positive=False):
    rng = np.random.default_rng(seed)
    out = [np.asarray(rng.standard_normal(s), dtype) for s in shapes]
    return [np.abs(a) + 0.5 for a in out] if positive else out


def tensors(lib, arrs):
    return [lib.tensor(a.copy()) for a in arrs]


def check_same(ours, ref, tol=1e-6):
    assert len(ours) == len(ref)
    for x, y in zip(ours, ref):
        assert x.dtype == getattr(ember, str(y.dtype).split(".")[1])
        assert tuple(x.shape) == tuple(y.shape)
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=tol, atol=tol)


def operand(lib, kind, seed):
    """The second operand of a binary op, in each form PyTorch accepts."""
    if kind == "number":
        return 0.75
    if kind == "int":
        return 2
    if kind == "numbers":
        return [0.5, -1.5, 2.0, 3]
    if kind == "tensor":
        return lib.tensor(1.25)
    return tensors(lib, arrays(seed, positive=True))


KINDS = ["number", "int", "numbers", "tensor", "tensors"]
BINARY = ["add", "sub", "mul", "div", "maximum", "minimum"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("op", BINARY)
def test_binary_in_place_matches_torch(op, kind):
    results = {}
    for lib in (ember, torch):
        xs = tensors(lib, arrays(0))
        versions = [x._version for x in xs]
        returned = getattr(lib, f"_foreach_{op}_")(xs, operand(lib, kind, 1))
        assert returned is xs
        assert [x._version - v for x, v in zip(xs, versions)] == [1] * len(xs)
        results[lib] = xs
    check_same(results[ember], results[torch])


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("op", BINARY)
def test_binary_out_of_place_matches_torch(op, kind):
    results = {}
    for lib in (ember, torch):
        xs = tensors(lib, arrays(0))
        out = getattr(lib, f"_foreach_{op}")(xs, operand(lib, kind, 1))
        assert all(o is not x for o, x in zip(out, xs))
        assert all(x._version == 0 for x in xs)
        results[lib] = list(out)
    check_same(results[ember], results[torch])


@pytest.mark.parametrize("op,kind", [("add", "tensor"), ("add", "tensors"), ("sub", "tensors")])
@pytest.mark.parametrize("in_place", [True, False])
def test_alpha(op, in_place, kind):
    results = {}
    for lib in (ember, torch):
        xs = tensors(lib, arrays(2))
        fn = getattr(lib, f"_foreach_{op}{'_' if in_place else ''}")
        out = fn(xs, operand(lib, kind, 3), alpha=-0.3)
        results[lib] = list(out)
    check_same(results[ember], results[torch])


@pytest.mark.parametrize(
    "op,kind", [("add_", "number"), ("add", "numbers"), ("sub_", "tensor"), ("sub", "tensor")]
)
def test_alpha_where_torch_refuses_it_raises(op, kind):
    for lib in (ember, torch):
        with pytest.raises(TypeError):
            getattr(lib, f"_foreach_{op}")([lib.zeros(4)] * 4, operand(lib, kind, 0), alpha=2)


@pytest.mark.parametrize("op", ["addcmul", "addcdiv"])
@pytest.mark.parametrize("in_place", [True, False])
@pytest.mark.parametrize("scalars", ["default", "value", "numbers", "tensor"])
def test_addcmul_addcdiv(op, in_place, scalars):
    results = {}
    for lib in (ember, torch):
        xs = tensors(lib, arrays(4))
        t1, t2 = tensors(lib, arrays(5)), tensors(lib, arrays(6, positive=True))
        fn = getattr(lib, f"_foreach_{op}{'_' if in_place else ''}")
        if scalars == "default":
            out = fn(xs, t1, t2)
        elif scalars == "value":
            out = fn(xs, t1, t2, value=-0.4)
        elif scalars == "numbers":
            out = fn(xs, t1, t2, [0.5, -2.0, 1.0, 3])
        else:
            out = fn(xs, t1, t2, lib.tensor([0.5, -2.0, 1.0, 3.0]))
        if in_place:
            assert out is xs and all(x._version == 1 for x in xs)
        results[lib] = list(out)
    check_same(results[ember], results[torch])


@pytest.mark.parametrize("weight", [0.2, 0.8, -0.7, [0.1, 0.6, 1.0, 0.0], "tensors"])
@pytest.mark.parametrize("in_place", [True, False])
def test_lerp(weight, in_place):
    results = {}
    for lib in (ember, torch):
        xs, ends = tensors(lib, arrays(7)), tensors(lib, arrays(8))
        w = tensors(lib, arrays(9)) if weight == "tensors" else weight
        out = getattr(lib, f"_foreach_lerp{'_' if in_place else ''}")(xs, ends, w)
        results[lib] = list(out)
    check_same(results[ember], results[torch])


@pytest.mark.parametrize("op", ["sqrt", "neg", "abs", "sign"])
@pytest.mark.parametrize("in_place", [True, False])
def test_unary(op, in_place):
    results = {}
    for lib in (ember, torch):
        xs = tensors(lib, arrays(10, positive=op == "sqrt"))
        out = getattr(lib, f"_foreach_{op}{'_' if in_place else ''}")(xs)
        if in_place:
            assert out is xs and all(x._version == 1 for x in xs)
        else:
            assert all(x._version == 0 for x in xs)
        results[lib] = list(out)
    check_same(results[ember], results[torch])


def test_zero_and_copy():
    results = {}
    for lib in (ember, torch):
        xs, ys = tensors(lib, arrays(11)), tensors(lib, arrays(12))
        assert lib._foreach_copy_(xs, ys) is xs
        copied = [x.clone() for x in xs]
        assert lib._foreach_zero_(ys) is ys
        assert all(x._version == 1 and y._version == 1 for x, y in zip(xs, ys))
        results[lib] = copied + ys
    check_same(results[ember], results[torch])


@pytest.mark.parametrize("ord", [2, 1, float("inf")])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_norm(ord, dtype):
    ours = ember._foreach_norm(tensors(ember, arrays(13, dtype)), ord)
    ref = torch._foreach_norm(tensors(torch, arrays(13, dtype)), ord)
    check_same(ours, ref, tol=1e-5)


@pytest.mark.parametrize(
    "dst,src,other",
    [
        (np.float32, np.float64, "tensors"),  # computed in float64, cast into float32
        (np.float64, np.float32, "tensors"),
        (np.int64, np.int32, "tensors"),
        (np.int32, np.int64, "int"),
        (np.float32, np.float32, "tensor64"),  # a 0-d tensor doesn't promote
    ],
)
def test_in_place_promotion_casts_into_the_destination(dst, src, other):
    results = {}
    for lib in (ember, torch):
        xs = tensors(lib, [(a * 10).astype(dst) for a in arrays(14)])
        if other == "tensors":
            o = tensors(lib, [(a * 10).astype(src) for a in arrays(15)])
        elif other == "int":
            o = 3
        else:
            o = lib.tensor(1.0 / 3.0, dtype=lib.float64)
        lib._foreach_add_(xs, o)
        lib._foreach_mul_(xs, o)
        results[lib] = xs
    check_same(results[ember], results[torch])


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, xs: lib._foreach_add_(xs, 1.5),
        lambda lib, xs: lib._foreach_mul_(xs, [0.5] * len(xs)),
        lambda lib, xs: lib._foreach_div_(xs, 2),
        lambda lib, xs: lib._foreach_add_(xs, [x.double() for x in xs]),
    ],
)
def test_in_place_result_that_cannot_be_cast_raises(call):
    for lib in (ember, torch):
        xs = tensors(lib, [np.arange(3, dtype=np.int64), np.arange(2, dtype=np.int64)])
        with pytest.raises(RuntimeError, match="can't be cast"):
            call(lib, xs)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib, a, b: lib._foreach_add_(a, b[:1]),
        lambda lib, a, b: lib._foreach_add(a, b[:1]),
        lambda lib, a, b: lib._foreach_mul_(a, [1.0]),
        lambda lib, a, b: lib._foreach_addcmul_(a, a, b[:1]),
        lambda lib, a, b: lib._foreach_addcdiv_(a, a, b, [1.0]),
        lambda lib, a, b: lib._foreach_lerp_(a, b[:1], 0.5),
        lambda lib, a, b: lib._foreach_copy_(a, b[:1]),
    ],
)
def test_mismatched_list_lengths_raise(call):
    for lib in (ember, torch):
        a, b = [lib.zeros(2), lib.zeros(2)], [lib.ones(2), lib.ones(2)]
        with pytest.raises(RuntimeError):
            call(lib, a, b)
        assert all(x._version == 0 for x in a)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib._foreach_add_([], 1.0),
        lambda lib: lib._foreach_mul([], []),
        lambda lib: lib._foreach_sqrt([]),
        lambda lib: lib._foreach_norm([]),
    ],
)
def test_empty_lists_raise(call):
    for lib in (ember, torch):
        with pytest.raises(RuntimeError, match="at least one tensor"):
            call(lib)


def test_shapes_that_do_not_broadcast_into_the_destination_raise():
    for lib in (ember, torch):
        a = [lib.zeros(3)]
        with pytest.raises(RuntimeError):
            lib._foreach_add_(a, [lib.ones(2, 3)])
        a = [lib.zeros(2, 3)]
        lib._foreach_add_(a, [lib.ones(3)])  # broadcasting into it is fine
        assert a[0].sum().item() == 6


def test_expanded_destination_raises():
    for lib in (ember, torch):
        x = lib.zeros(3).expand(2, 3)
        with pytest.raises(RuntimeError, match="single memory location"):
            lib._foreach_add_([x], 1.0)


def test_views_and_non_contiguous_destinations_write_their_base():
    results = {}
    for lib in (ember, torch):
        base = lib.tensor(arrays(16, shapes=[(4, 6)])[0])
        views = [base.t(), base[1:3, ::2], base[3]]
        lib._foreach_mul_(views[:1], 2.0)
        lib._foreach_add_(views[1:], [lib.ones(2, 3), lib.ones(6)], alpha=0.5)
        lib._foreach_lerp_([base[::2, 1:4]], [lib.zeros(2, 3)], 0.25)
        results[lib] = [base]
    check_same(results[ember], results[torch])


def test_leaf_requiring_grad_raises_under_grad_mode():
    for lib in (ember, torch):
        p = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable"):
            lib._foreach_mul_([p], 2.0)
        with lib.no_grad():
            lib._foreach_mul_([p], 2.0)
        assert p._version == 1 and p.grad_fn is None


def test_recorded_per_tensor_under_grad_mode():
    """Non-leaf tensors are updated through the recorded ops: gradients flow as in PyTorch."""
    grads = {}
    for lib in (ember, torch):
        w = lib.tensor(arrays(17, np.float64, shapes=[(3,)])[0], requires_grad=True)
        v = lib.tensor(arrays(18, np.float64, shapes=[(3,)])[0], requires_grad=True)
        xs = [w * 1.0, w * 2.0]
        lib._foreach_mul_(xs, [v, v])
        lib._foreach_addcmul_(xs, [v, w], [w, v], 0.5)
        lib._foreach_lerp_(xs, [v, v * 3.0], 0.3)
        roots = lib._foreach_sqrt(lib._foreach_abs(xs))
        sum(r.sum() for r in roots).backward()
        grads[lib] = [w.grad, v.grad]
    check_same(grads[ember], grads[torch], tol=1e-10)


@pytest.mark.parametrize(
    "call",
    [
        lambda x, g: x.add_(g, alpha=0.5),
        lambda x, g: x.sub_(2.5),
        lambda x, g: x.mul_(g),
        lambda x, g: x.div_(g),
        lambda x, g: x.sub_(g, alpha=2),
        lambda x, g: x.addcdiv_(g, g.abs() + 1, value=-2.0),
        lambda x, g: x.addcmul_(g, g),
        lambda x, g: x.lerp_(g, 0.9),
        lambda x, g: x.abs_().sqrt_(),
        lambda x, g: x.t().mul_(g.t()),  # a transposed view
        lambda x, g: x[:, 1].add_(g[0, 1:2]),  # a strided view, broadcast operand
        lambda x, g: x.add_(g.double()),  # computed in float64, written as float32
    ],
)
def test_single_tensor_in_place_ops_write_directly(call):
    """Without grad, single-tensor in-place ops write their destination in one pass: the
    values, the version count and the view's base as in PyTorch."""
    results = {}
    for lib in (ember, torch):
        x = lib.tensor(arrays(19, shapes=[(3, 3)])[0])
        g = lib.tensor(arrays(20, shapes=[(3, 3)])[0])
        with lib.no_grad():
            call(x, g)
        assert x._version >= 1
        results[lib] = [x, lib.tensor(x._version)]
    check_same(results[ember], results[torch])
