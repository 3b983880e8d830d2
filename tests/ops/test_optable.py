"""The op table runner itself: each of its checks fails on an op that is wrong in that way."""

import numpy as np
import pytest

import ember
from ember.autograd.gradcheck import GradcheckError
from ember.backends import registry
from tests.ops.optable import Row, backend_cases, check_row


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


class _Stashing(ember.autograd.Function):
    """x * 2 that keeps its input on the node instead of saving it."""

    @staticmethod
    def forward(ctx, x):
        ctx.kept = x
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return g * 2


def test_a_tensor_kept_outside_save_for_backward_fails_the_row():
    row = Row("stash", _differs(_Stashing.apply, lambda a: a * 2), X, gradcheck=False)
    with pytest.raises(AssertionError, match=r"\('_Stashing', 'kept'\)"):
        check_row(row, row.inputs[0])


def _conv(lib, x, w):
    return lib.nn.functional.conv2d(x, w)


CONV_SAMPLE = (np.ones((1, 2, 3, 3)), np.ones((2, 2, 2, 2)))
CONV_KERNELS = ("conv2d", "conv2d_backward")


def test_each_backend_of_a_kernel_row_is_a_case():
    row = Row("conv", _conv, [CONV_SAMPLE], kernels=CONV_KERNELS)
    backends = [p.values[2] for p in backend_cases([row])]
    assert backends == [b for b in registry.registered_backends()
                        if b in registry.backends_for("conv2d")]  # fmt: skip
    assert [p.values[2] for p in backend_cases([Row("plain", _conv, [CONV_SAMPLE])])] == [None]


def test_a_named_kernel_that_does_not_run_fails_the_row():
    row = Row("not_conv", lambda lib, x, w: x * 2, [CONV_SAMPLE], kernels=("conv2d",))
    with pytest.raises(AssertionError, match="did not run"):
        check_row(row, row.inputs[0], "numpy")


def test_a_backend_declining_every_dtype_skips_the_row():
    lacking = [
        b for b in registry.registered_backends() if b not in registry.backends_for("conv3d")
    ]
    if not lacking:
        pytest.skip("every registered backend implements conv3d")
    sample = (np.ones((1, 1, 2, 2, 2)), np.ones((1, 1, 1, 1, 1)))
    row = Row("conv3d", lambda lib, x, w: lib.nn.functional.conv3d(x, w), [sample],
              kernels=("conv3d",))  # fmt: skip
    with pytest.raises(pytest.skip.Exception, match=f"{lacking[0]} declines conv3d"):
        check_row(row, sample, lacking[0])


@pytest.mark.skipif("onednn" not in registry.registered_backends(), reason="no oneDNN kernels")
def test_a_float32_backend_runs_a_float64_row_in_float32():
    row = Row("conv", _conv, [CONV_SAMPLE], dtypes=("float64",), kernels=CONV_KERNELS)
    check_row(row, row.inputs[0], "onednn")
    assert all(registry.last_used(k) == "onednn" for k in CONV_KERNELS)
