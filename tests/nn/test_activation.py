"""Activations against torch (float32 and float64), in place, stability and finite differences."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as EF
from tests.nn.helpers import check_gradcheck, compare_functions, compare_modules

DTYPES = ["float32", "float64"]


def _x(shape=(3, 4, 6), scale=2.0, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape) * scale
    x.reshape(-1)[:3] = [0.3001, -0.3001, 0.1001]  # near the shrink kinks, not on them
    return x


# (name, args, kwargs) for functions with the same name and signature in both libraries.
FUNCTIONAL = [
    ("relu", (), {}), ("relu6", (), {}), ("leaky_relu", (0.2,), {}), ("elu", (0.7,), {}),
    ("selu", (), {}), ("celu", (1.3,), {}), ("gelu", (), {}), ("gelu", (), {"approximate": "tanh"}),
    ("silu", (), {}), ("mish", (), {}), ("softplus", (), {}), ("softplus", (2.0, 3.0), {}),
    ("softsign", (), {}), ("hardtanh", (-0.5, 0.7), {}), ("hardsigmoid", (), {}),
    ("hardswish", (), {}), ("sigmoid", (), {}), ("tanh", (), {}), ("logsigmoid", (), {}),
    ("tanhshrink", (), {}), ("softshrink", (0.3,), {}), ("hardshrink", (0.3,), {}),
    ("threshold", (0.1, -2.0), {}), ("glu", (), {"dim": 1}), ("glu", (), {}),
    ("softmax", (), {"dim": 1}), ("softmax", (), {"dim": -1}), ("log_softmax", (), {"dim": 0}),
    ("log_softmax", (), {"dim": 2}), ("softmin", (), {"dim": 1}), ("rrelu", (), {}),
]  # fmt: skip
IDS = [f"{n}{a}{k}" for n, a, k in FUNCTIONAL]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,args,kwargs", FUNCTIONAL, ids=IDS)
def test_functional_matches_torch(name, args, kwargs, dtype):
    compare_functions(
        lambda x: getattr(TF, name)(x, *args, **kwargs),
        lambda x: getattr(EF, name)(x, *args, **kwargs),
        [_x()],
        dtype,
    )


@pytest.mark.parametrize("shape", [(), (0,), (5,), (2, 0, 3)], ids=str)
@pytest.mark.parametrize("name", ["relu", "gelu", "silu", "softmax", "log_softmax", "mish"])
def test_edge_shapes(name, shape):
    kw = {"dim": 0} if name in ("softmax", "log_softmax") else {}
    compare_functions(
        lambda x: getattr(TF, name)(x, **kw),
        lambda x: getattr(EF, name)(x, **kw),
        [np.random.default_rng(1).standard_normal(shape)],
    )


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_default_dim_and_dtype_argument(dim):
    x = _x((2, 3, 4))
    for name in ("softmax", "log_softmax", "softmin"):
        with pytest.warns(UserWarning):
            t = getattr(TF, name)(torch.tensor(x))
        e = getattr(EF, name)(ember.tensor(x))
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6, atol=1e-12)
        t = getattr(TF, name)(torch.tensor(x, dtype=torch.float32), dim, dtype=torch.float64)
        e = getattr(EF, name)(ember.tensor(x, dtype=ember.float32), dim, dtype=ember.float64)
        assert e.dtype == ember.float64
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6)


def test_softmax_and_log_softmax_are_stable_for_large_logits():
    x = np.array([[1e4, -1e4, 0.0, 1e4 - 1], [-3e4, -3e4 + 2, -3e4 + 1, -3e4]], np.float32)
    for name in ("softmax", "log_softmax"):
        compare_functions(
            lambda t, n=name: getattr(TF, n)(t, 1),
            lambda t, n=name: getattr(EF, n)(t, 1),
            [x],
            "float32",
        )
    e = EF.log_softmax(ember.tensor(x), 1).numpy()
    assert np.isfinite(e).all()


def test_fused_ops_are_single_graph_nodes():
    x = ember.randn(3, 4, requires_grad=True)
    fns = [lambda x: EF.softmax(x, 1), lambda x: EF.log_softmax(x, 1), EF.relu, EF.gelu, EF.silu]
    for fn in fns:
        inputs = [f[0] for f in fn(x).grad_fn.next_functions if f[0] is not None]
        assert len(inputs) == 1 and "AccumulateGrad" in type(inputs[0]).__name__


GRADCHECK = [
    ("relu", lambda x: EF.relu(x)), ("gelu", lambda x: EF.gelu(x)),
    ("gelu_tanh", lambda x: EF.gelu(x, approximate="tanh")), ("silu", lambda x: EF.silu(x)),
    ("softmax", lambda x: EF.softmax(x, 1)), ("log_softmax", lambda x: EF.log_softmax(x, -1)),
    ("softmax0", lambda x: EF.softmax(x, 0)), ("leaky_relu", lambda x: EF.leaky_relu(x, 0.1)),
    ("elu", lambda x: EF.elu(x)), ("softplus", lambda x: EF.softplus(x, 2.0)),
    ("mish", lambda x: EF.mish(x)), ("glu", lambda x: EF.glu(x, 1)),
    ("threshold", lambda x: EF.threshold(x, 0.1, 3.0)),
]  # fmt: skip


@pytest.mark.parametrize("name,fn", GRADCHECK, ids=[g[0] for g in GRADCHECK])
def test_gradcheck_and_double_backward(name, fn):
    check_gradcheck(fn, [_x((3, 4), 1.5)], second_order=True)


@pytest.mark.parametrize(
    "name,args",
    [("relu", ()), ("relu6", ()), ("leaky_relu", (0.2,)), ("elu", (0.5,)), ("selu", ()),
     ("celu", (0.5,)), ("silu", ()), ("mish", ()), ("hardtanh", (-0.5, 0.5)),
     ("hardsigmoid", ()), ("hardswish", ()), ("threshold", (0.1, 2.0)), ("rrelu", ())],
)  # fmt: skip
def test_inplace_writes_into_the_input(name, args):
    x = _x((4, 5))

    def run(F, lib):
        leaf = lib.tensor(x, requires_grad=True)
        y = leaf * 1.0
        out = getattr(F, name)(y, *args, inplace=True)
        assert out is y
        out.sum().backward()
        return y.detach().numpy(), leaf.grad.numpy()

    for e, t in zip(run(EF, ember), run(TF, torch)):
        np.testing.assert_allclose(e, t, rtol=1e-6, atol=1e-12)


MODULES = [
    ("ReLU", ()), ("ReLU", (True,)), ("ReLU6", ()), ("LeakyReLU", (0.2,)),
    ("LeakyReLU", (0.2, True)), ("ELU", (0.7,)), ("SELU", ()), ("CELU", (1.3,)), ("GELU", ()),
    ("GELU", ("tanh",)), ("SiLU", ()), ("Mish", ()), ("Softplus", (2.0, 5.0)), ("Softsign", ()),
    ("Hardtanh", (-0.5, 0.7)), ("Hardsigmoid", ()), ("Hardswish", ()), ("Sigmoid", ()),
    ("Tanh", ()), ("LogSigmoid", ()), ("Tanhshrink", ()), ("Softshrink", (0.3,)),
    ("Hardshrink", (0.3,)), ("Threshold", (0.1, -2.0)), ("PReLU", ()), ("PReLU", (4, 0.1)),
    ("GLU", ()), ("GLU", (1,)), ("Softmax", (1,)), ("LogSoftmax", (1,)), ("Softmin", (0,)),
    ("Softmax2d", ()), ("RReLU", (0.1, 0.3)),
]  # fmt: skip


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,args", MODULES, ids=[f"{n}{a}" for n, a in MODULES])
def test_module_matches_torch(name, args, dtype):
    t, e = getattr(torch.nn, name)(*args), getattr(ember.nn, name)(*args)
    assert repr(e) == repr(t)
    x = _x((3, 4, 6, 2))
    inplace = True in args
    call = (lambda m, x: m(x * 1.0)) if inplace else (lambda m, x: m(x))
    compare_modules(t, e, [x], dtype, call=call, train=False)


def test_prelu_per_channel_weight_gradient():
    t, e = torch.nn.PReLU(3, 0.2), ember.nn.PReLU(3, 0.2)
    t.weight.data = torch.tensor([0.1, -0.2, 0.3])
    compare_modules(t, e, [_x((2, 3, 5))])
    compare_modules(t, e, [_x((2, 3))])


def test_rrelu_training_slopes_lie_in_range_and_gradients_match_them():
    x = ember.tensor(-np.ones(2000), requires_grad=True)
    y = EF.rrelu(x, 0.1, 0.3, training=True)
    slopes = -y.detach().numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.03
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), slopes)


def test_bad_arguments_name_the_problem():
    x = ember.randn(3, 5)
    with pytest.raises(RuntimeError, match="approximate"):
        EF.gelu(x, approximate="fast")
    with pytest.raises(RuntimeError, match="glu|even|halve"):
        EF.glu(x, 1)
    with pytest.raises(IndexError, match="[Dd]imension"):
        EF.softmax(x, 2)
    with pytest.raises(RuntimeError, match="softmax.*int64"):
        EF.softmax(ember.tensor([1, 2]), 0)
