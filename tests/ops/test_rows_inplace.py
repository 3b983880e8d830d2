"""Op table: in-place forms on non-leaf tensors under autograd, and in-place operators."""

import numpy as np
import pytest

import ember
from tests.ops.optable import Row, cases, check_row
from tests.ops.samples import bools, ints, pos, r, reseed

reseed(6)

U = dict(double_backward=True)
SAMPLES = [(r(3, 4), r(4)), (r(3, 4), r(3, 4)), (r(), r())]


def inplace(method, *args, **kwargs):
    """fn(lib, a, *others): method applied in place to a non-leaf copy of a."""

    def fn(lib, a, *others):
        x = a * 1
        out = getattr(x, method)(*others, *args, **kwargs)
        assert out is x
        return x

    return fn


def operator(op):
    def fn(lib, a, b):
        x = a * 1
        y = x
        x = op(x, b)
        assert x is y
        return x

    return fn


def _iadd(x, b):
    x += b
    return x


def _isub(x, b):
    x -= b
    return x


def _imul(x, b):
    x *= b
    return x


def _idiv(x, b):
    x /= b
    return x


def _ipow(x, b):
    x **= b
    return x


ROWS = [
    Row("add_", inplace("add_"), SAMPLES, **U),
    Row("add_alpha_", inplace("add_", alpha=2.0), SAMPLES, **U),
    Row("sub_", inplace("sub_"), SAMPLES, **U),
    Row("mul_", inplace("mul_"), SAMPLES, **U),
    Row("div_", lambda lib, a, b: inplace("div_")(lib, a, b.abs() + 0.5), SAMPLES, **U),
    Row("pow_", lambda lib, a, b: inplace("pow_")(lib, a.abs() + 0.5, b), SAMPLES, **U),
    Row("clamp_", inplace("clamp_", -0.5, 0.5), [(r(3, 4),)], **U),
    Row("clamp_min_max_", lambda lib, a: (inplace("clamp_min_", 0.1)(lib, a),
                                          inplace("clamp_max_", 0.1)(lib, a)), [(r(3, 4),)], **U),
    Row("unary_", lambda lib, a: (inplace("exp_")(lib, a), inplace("neg_")(lib, a),
                                  inplace("sigmoid_")(lib, a), inplace("tanh_")(lib, a),
                                  inplace("sqrt_")(lib, a.abs() + 0.5), inplace("abs_")(lib, a)),
        [(r(3, 4),)], **U),
    Row("zero_", inplace("zero_"), [(r(3, 4),)], **U),
    Row("fill_", inplace("fill_", 2.5), [(r(3, 4),)], **U),
    Row("fill_tensor_", lambda lib, a, v: inplace("fill_")(lib, a, v), [(r(3, 4), r())], **U),
    Row("copy_", inplace("copy_"), [(r(3, 4), r(4)), (r(3, 4), r(3, 4))], **U),
    Row("copy_cast_", lambda lib, a, b: (a * 1).copy_(b), [(r(3, 4), ints(4))], grad=False),
    Row("masked_fill_", lambda lib, a, m: inplace("masked_fill_", -1.0)(lib, a, m),
        [(r(3, 4), bools(3, 4)), (r(3, 4), bools(4))], **U),
    Row("scatter_", lambda lib, a, i, s: inplace("scatter_")(lib, a, 0, i, s),
        [(r(3, 4), np.array([[0, 2, 1, 0], [1, 0, 2, 2]]), r(2, 4))], **U),
    Row("scatter_add_", lambda lib, a, i, s: inplace("scatter_add_")(lib, a, 0, i, s),
        [(r(3, 4), np.array([[0, 2, 1, 0], [0, 0, 2, 2]]), r(2, 4))], **U),
    Row("index_fill_add_", lambda lib, a, i, s: (inplace("index_fill_")(lib, a, 1, i, 2.0),
                                                 inplace("index_add_")(lib, a, 0, i, s)),
        [(r(3, 4), np.array([2, 0]), r(2, 4))], **U),
    Row("lerp_addcmul_addcdiv_", lambda lib, a, b: (inplace("lerp_")(lib, a, b, 0.3),
                                                    inplace("addcmul_")(lib, a, b, b),
                                                    inplace("addcdiv_")(lib, a, b, b.abs() + 1)),
        [(r(3, 4), r(4))], **U),
    Row("view_inplace", lambda lib, a, b: (lambda x: (x[0].mul_(b), x)[1])(a * 1),
        [(r(3, 4), r(4))], **U),
    Row("view_of_view_inplace", lambda lib, a, b: (
        lambda x: (x[1:].t()[2].mul_(b[:2]), x.t()[0].add_(b[0]), x)[-1])(a * 1),
        [(r(3, 4), r(4))], **U),
    Row("view_setitem", lambda lib, a, b: (
        lambda x: (x[1].__setitem__(slice(1, 3), b[:2] * 2), x)[-1])(a * 1),
        [(r(3, 4), r(4))], **U),
    Row("view_copy_fill_zero_clamp", lambda lib, a, b: (
        lambda x: (x[1].copy_(b), x[:, 1].fill_(b[0]), x[2].zero_(), x[0].clamp_(-0.1, 0.1),
                   x)[-1])(a * 1), [(r(3, 4), r(4))], **U),
    Row("view_inplace_then_use_view", lambda lib, a, b: (
        lambda x, v: (v.mul_(b), v * x[0], x)[1:])(*(lambda x: (x, x[1]))(a * 1)),
        [(r(3, 4), r(4))], **U),
    Row("view_inplace_base_without_grad", lambda lib, a, b: (
        lambda x: (x[0].mul_(b), x)[1])(a.detach() * 1), [(r(3, 4), r(4))], gradcheck=False,
        **U),  # detach: finite differences in a see what the gradient (rightly) does not
    Row("transpose_view_inplace", lambda lib, a: (lambda x: (x.t().add_(1.0), x)[1])(a * 1),
        [(r(3, 4),)], **U),
    Row("iadd", operator(_iadd), SAMPLES, **U),
    Row("isub", operator(_isub), SAMPLES, **U),
    Row("imul", operator(_imul), SAMPLES, **U),
    Row("idiv", lambda lib, a, b: operator(_idiv)(lib, a, b.abs() + 0.5), SAMPLES, **U),
    Row("ipow", lambda lib, a: operator(_ipow)(lib, a.abs() + 0.5, 2.0), [(r(3, 4),)], **U),
    Row("iops_int", lambda lib, a, b: [operator(f)(lib, a, b) for f in (_iadd, _isub, _imul)]
        + [(lambda x: (x.__ifloordiv__(b), x.__imod__(b), x.__iand__(b), x.__ior__(b),
                       x.__ixor__(b))[-1])(a * 1)],
        [(ints(3, 4), ints(4, low=1))], dtypes=(None,), grad=False),
    Row("iops_bool", lambda lib, a, b: (
        lambda x: (x.__iand__(b), x.__ior__(~b), x.__ixor__(b))[-1])(a.clone()),
        [(bools(3, 4), bools(4))], dtypes=(None,), grad=False),
    Row("inplace_keeps_dtype", lambda lib, a: (
        lambda x: (x.add_(2), x.mul_(3), x.zero_().add_(1), x)[-1])(a * 1),
        [(ints(3, 4),)], dtypes=(None,), grad=False),
    Row("inplace_pos", lambda lib, a, b: inplace("log_")(lib, a, *()) + b, [(pos(3, 4), r(4))],
        **U),
]  # fmt: skip


@pytest.mark.parametrize("row,sample", cases(ROWS))
def test_row(row, sample):
    check_row(row, sample)


@pytest.mark.parametrize("method,args", [("normal_", (1.0, 2.0)), ("uniform_", (-1.0, 3.0))])
def test_random_fill_in_place(method, args):
    """Random fills: same memory, same dtype, values with the asked-for distribution."""
    ember.manual_seed(0)
    x = ember.zeros(200, 50)
    ptr = x.data_ptr()
    assert getattr(x, method)(*args) is x
    v = x.numpy()
    assert x.data_ptr() == ptr and x.dtype is ember.float32
    if method == "normal_":
        assert abs(v.mean() - 1.0) < 0.05 and abs(v.std() - 2.0) < 0.05
    else:
        assert v.min() >= -1.0 and v.max() < 3.0 and abs(v.mean() - 1.0) < 0.05


def test_inplace_write_reaches_base_and_bumps_version():
    base = ember.zeros(3, 4)
    view = base[1]
    v0 = base._version
    view.add_(2.0)
    np.testing.assert_array_equal(base.numpy()[1], [2.0] * 4)
    assert base._version > v0
