"""Op table: activation functions, their in-place forms, and softmax, log_softmax, softmin.

Samples are wide normals (most activations bend between -3 and 3, relu6 at 6); a kink is
almost surely more than gradcheck's step away from every sample. rrelu is checked here in
eval mode; its random training-mode slopes are checked statistically in
tests/nn/test_activation.py.
"""

import pytest

import ember
from tests.ops.optable import Row, backend_cases, check_row
from tests.ops.samples import nc, pos, r, reseed

reseed(23)

D = dict(double_backward=True)


def F(lib):
    return lib.nn.functional


def wide(*shape):
    return r(*shape) * 4


# 2-d, transposed, 3-d, 0-d, empty: the shapes every elementwise activation sees.
SAMPLES = [(wide(3, 4),), (nc(3, 4, gen=wide),), (wide(2, 3, 2),), (wide(),), (wide(0, 3),)]


def unary(name, fn, samples=SAMPLES, **kwargs):
    return Row(name, lambda lib, x: fn(F(lib), x), samples, **D, **kwargs)


def inplace(name, fn):
    """The in-place form, on a copy (an in-place op on a leaf that requires grad raises)."""
    return Row(name, lambda lib, x: fn(F(lib), x * 1), SAMPLES[:2], **D)


ELEMENTWISE = [
    unary("relu", lambda F, x: F.relu(x)),
    unary("relu6", lambda F, x: F.relu6(x * 2)),
    unary("elu", lambda F, x: (F.elu(x), F.elu(x, alpha=0.5))),
    unary("selu", lambda F, x: F.selu(x)),
    unary("celu", lambda F, x: (F.celu(x), F.celu(x, alpha=2.0))),
    unary("gelu", lambda F, x: (F.gelu(x), F.gelu(x, approximate="tanh"))),
    unary("silu", lambda F, x: F.silu(x)),
    unary("mish", lambda F, x: F.mish(x)),
    unary("softplus", lambda F, x: (F.softplus(x), F.softplus(x, beta=2.0, threshold=3.0))),
    unary("softsign", lambda F, x: F.softsign(x)),
    unary("hardtanh", lambda F, x: (F.hardtanh(x), F.hardtanh(x, -2.0, 0.5))),
    Row("hardsigmoid", lambda lib, x: F(lib).hardsigmoid(x), SAMPLES),  # torch: no double backward
    unary("hardswish", lambda F, x: F.hardswish(x)),
    unary("sigmoid", lambda F, x: F.sigmoid(x)),
    unary("tanh", lambda F, x: F.tanh(x)),
    unary("logsigmoid", lambda F, x: F.logsigmoid(x)),
    unary("tanhshrink", lambda F, x: F.tanhshrink(x)),
    unary("softshrink", lambda F, x: (F.softshrink(x), F.softshrink(x, 2.0))),
    unary("hardshrink", lambda F, x: (F.hardshrink(x), F.hardshrink(x, 2.0))),
    unary("leaky_relu", lambda F, x: (F.leaky_relu(x), F.leaky_relu(x, 0.3))),
    unary("threshold", lambda F, x: F.threshold(x, 0.5, -2.0)),
    unary("rrelu_eval", lambda F, x: (F.rrelu(x), F.rrelu(x, 0.2, 0.4, training=False))),
    Row("identity", lambda lib, x: F(lib).identity(x) if lib is ember else lib.nn.Identity()(x),
        SAMPLES, **D),  # torch.nn.functional has no identity: compared with nn.Identity
    Row("prelu", lambda lib, x, w: F(lib).prelu(x, w),
        [(wide(2, 3, 4), pos(3)), (wide(2, 3), pos(1)), (wide(4), r(1))], **D),
    Row("glu", lambda lib, x: (F(lib).glu(x), F(lib).glu(x, 0)),
        [(r(4, 6),), (nc(4, 2, 2),)], **D),
]  # fmt: skip

INPLACE = [
    inplace("relu_", lambda F, x: F.relu_(x)),
    inplace("relu_inplace", lambda F, x: F.relu(x, inplace=True)),
    inplace("relu6_inplace", lambda F, x: F.relu6(x * 2, inplace=True)),
    inplace("elu_", lambda F, x: F.elu_(x, 0.5)),
    inplace("elu_inplace", lambda F, x: F.elu(x, inplace=True)),
    inplace("selu_inplace", lambda F, x: F.selu(x, inplace=True)),
    inplace("celu_inplace", lambda F, x: F.celu(x, 1.5, inplace=True)),
    inplace("silu_inplace", lambda F, x: F.silu(x, inplace=True)),
    inplace("mish_inplace", lambda F, x: F.mish(x, inplace=True)),
    inplace("hardtanh_", lambda F, x: F.hardtanh_(x, -2.0, 0.5)),
    inplace("hardtanh_inplace", lambda F, x: F.hardtanh(x, inplace=True)),
    Row("hardsigmoid_inplace", lambda lib, x: F(lib).hardsigmoid(x * 1, inplace=True), SAMPLES[:2]),
    inplace("hardswish_inplace", lambda F, x: F.hardswish(x, inplace=True)),
    inplace("leaky_relu_", lambda F, x: F.leaky_relu_(x, 0.2)),
    inplace("leaky_relu_inplace", lambda F, x: F.leaky_relu(x, 0.2, inplace=True)),
    inplace("threshold_", lambda F, x: F.threshold_(x, 0.5, -2.0)),
    inplace("threshold_inplace", lambda F, x: F.threshold(x, 0.5, -2.0, inplace=True)),
    inplace("rrelu_eval_inplace", lambda F, x: F.rrelu(x, inplace=True)),
]  # fmt: skip

SOFTMAX = [
    Row("softmax", lambda lib, x: (F(lib).softmax(x, 1), F(lib).softmax(x, dim=-1),
                                   F(lib).softmax(x, 0, dtype=lib.float64)),
        [(r(3, 4),), (nc(2, 3, 4),)], **D),
    Row("log_softmax", lambda lib, x: (F(lib).log_softmax(x, 1), F(lib).log_softmax(x, -1),
                                       F(lib).log_softmax(x, 0, dtype=lib.float64)),
        [(r(3, 4),), (nc(2, 3, 4),)], **D),
    Row("softmin", lambda lib, x: (F(lib).softmin(x, 1), F(lib).softmin(x, 0, dtype=lib.float64)),
        [(r(3, 4),), (r(2, 3, 4),)], **D),
    Row("softmax_0d_and_empty", lambda lib, x: (F(lib).softmax(x, 0), F(lib).log_softmax(x, -1)),
        [(r(),), (r(0, 3),)], **D),
    Row("softmax_large_logits", lambda lib, x: (F(lib).softmax(x * 1000, 1),
                                                F(lib).log_softmax(x * 1000, 1)),
        [(r(3, 4),)], gradcheck=False),
]  # fmt: skip

ROWS = ELEMENTWISE + INPLACE + SOFTMAX


@pytest.mark.parametrize("row,sample,backend", backend_cases(ROWS))
def test_row(row, sample, backend):
    check_row(row, sample, backend)
