"""The op table runner itself: each of its checks fails on an op that is wrong in that way."""

import numpy as np
import pytest

import ember
from ember.autograd.gradcheck import GradcheckError
from tests.ops.optable import Row, check_row


class _WrongGrad(ember.autograd.Function):
    """x * 2 with the gradient of x * 3."""

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 3


class _ConstantGrad(ember.autograd.Function):
    """x ** 2 whose backward uses x as a constant: right first, wrong second derivative."""

    @staticmethod
    def forward(ctx, x):
        ctx.x = x.detach()
        return x * x

    @staticmethod
    def backward(ctx, g):
        return g * 2 * ctx.x


def _differs(lib_op, torch_op):
    return lambda lib, a: lib_op(a) if lib is ember else torch_op(a)


X = [(np.random.default_rng(0).standard_normal((2, 3)),)]

BROKEN = [
    Row("wrong_value", _differs(lambda a: a * 2.001, lambda a: a * 2), X),
    Row("wrong_dtype", _differs(lambda a: a.double(), lambda a: a), X, dtypes=("float32",)),
    Row("wrong_shape", _differs(lambda a: a.reshape(3, 2), lambda a: a), X),
    Row("wrong_gradient", _differs(_WrongGrad.apply, lambda a: a * 2), X, gradcheck=False),
    Row("wrong_second_derivative", _differs(_ConstantGrad.apply, lambda a: a * a), X,
        double_backward=True, gradcheck=False),
    Row("missing_output", lambda lib, a: (a, a * 2) if lib is not ember else (a,), X),
]  # fmt: skip


@pytest.mark.parametrize("row", BROKEN, ids=str)
def test_check_row_fails_on_a_broken_op(row):
    with pytest.raises(AssertionError):
        check_row(row, row.inputs[0])


def test_gradcheck_fails_on_a_wrong_gradient():
    row = Row("wrong_gradient", lambda lib, a: _WrongGrad.apply(a), X, dtypes=())
    with pytest.raises(GradcheckError):
        check_row(row, row.inputs[0])


def test_noncontiguous_samples_stay_noncontiguous():
    seen = []
    row = Row("probe", lambda lib, a: seen.append(a.is_contiguous()) or a * 1,
              [(np.ones((3, 4)).T,)], grad=False)  # fmt: skip
    check_row(row, row.inputs[0])
    assert seen == [False, False, False, False]
