"""A 0-d tensor accepts dim 0 and -1 in every reduction, as in PyTorch; dim-only shape ops
on a 0-d tensor fail with PyTorch's error."""

import numpy as np
import pytest
import torch

import ember

# std/var of one element divide by zero degrees of freedom: PyTorch warns, both give nan.
pytestmark = pytest.mark.filterwarnings("ignore:.*degrees of freedom")


def _call(lib, name, dim, keepdim):
    x = lib.tensor(3.0)
    kd = {"keepdim": True} if keepdim else {}
    calls = {
        "all": lambda: x.bool().all(dim=dim, **kd),
        "any": lambda: x.bool().any(dim=dim, **kd),
        "count_nonzero": lambda: x.count_nonzero(dim=dim),
        "int_sum": lambda: lib.tensor(3).sum(dim=dim, **kd),
        "softmax": lambda: x.softmax(dim),
        "log_softmax": lambda: x.log_softmax(dim),
        "cumsum": lambda: x.cumsum(dim),
        "cumprod": lambda: x.cumprod(dim),
        "cummax": lambda: x.cummax(dim),
        "cummin": lambda: x.cummin(dim),
        "logcumsumexp": lambda: x.logcumsumexp(dim),
        "std_mean": lambda: lib.std_mean(x, dim=dim, **kd),
        "var_mean": lambda: lib.var_mean(x, dim=dim, **kd),
        "aminmax": lambda: lib.aminmax(x, dim=dim, **kd),
        "sort": lambda: x.sort(dim),
        "argsort": lambda: x.argsort(dim),
        "topk": lambda: x.topk(1, dim=dim),
        "kthvalue": lambda: x.kthvalue(1, dim=dim, **kd),
        "flip": lambda: x.flip(dim),
        "movedim": lambda: x.movedim(dim, dim),
        "transpose": lambda: x.transpose(dim, dim),
        "squeeze": lambda: x.squeeze(dim),
        "norm": lambda: x.norm(dim=dim, **kd),
        "sum_tuple": lambda: x.sum(dim=(dim,), **kd),
        "quantile": lambda: lib.quantile(x, 0.5, dim=dim, **kd),
        "normalize": lambda: lib.nn.functional.normalize(x, dim=dim),
        "vector_norm": lambda: lib.linalg.vector_norm(-x, dim=dim, **kd),
    }
    if name in calls:
        return calls[name]()
    return getattr(x, name)(dim=dim, **kd)


NAMES = ["sum", "mean", "prod", "max", "min", "argmax", "argmin", "amax", "amin", "logsumexp",
         "std", "var", "nansum", "nanmean", "median", "nanmedian", "mode", "all", "any",
         "count_nonzero", "int_sum", "softmax", "log_softmax", "cumsum", "cumprod", "cummax",
         "cummin", "logcumsumexp", "std_mean", "var_mean", "aminmax", "sort", "argsort", "topk",
         "kthvalue", "flip", "movedim", "transpose", "squeeze", "norm", "sum_tuple", "quantile",
         "normalize", "vector_norm"]  # fmt: skip
KEEPDIM = {"sum", "mean", "prod", "max", "min", "argmax", "amax", "amin", "logsumexp", "std",
           "var", "all", "any", "median", "mode", "int_sum", "std_mean", "aminmax", "kthvalue",
           "norm", "sum_tuple", "quantile", "vector_norm"}  # fmt: skip


def _parts(r):
    return list(r) if isinstance(r, tuple) else [r]


@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize(
    "name,keepdim",
    [(n, False) for n in NAMES] + [(n, True) for n in NAMES if n in KEEPDIM],
)
def test_zero_dim_reduction_matches_torch(name, dim, keepdim):
    want = _parts(_call(torch, name, dim, keepdim))
    got = _parts(_call(ember, name, dim, keepdim))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert tuple(g.shape) == tuple(w.shape)
        assert str(g.dtype).split(".")[-1] == str(w.dtype).split(".")[-1]
        np.testing.assert_allclose(g.numpy(), w.numpy(), equal_nan=True)


def test_zero_dim_gradient_through_dim_reductions():
    grads = []
    for lib in (torch, ember):
        x = lib.tensor(2.0, requires_grad=True)
        (x.sum(0) * x.mean(-1) + x.logsumexp(0) + x.amax(0) + x.prod(0)).backward()
        grads.append(x.grad.item())
    assert grads[1] == pytest.approx(grads[0], rel=1e-6)


@pytest.mark.parametrize("dim", [1, -2])
@pytest.mark.parametrize("name", ["sum", "mean", "amax", "cumsum", "cumprod", "softmax", "std"])
def test_zero_dim_rejects_other_dims(name, dim):
    with pytest.raises(IndexError, match="Dimension out of range"):
        getattr(torch.tensor(3.0), name)(dim)
    with pytest.raises(IndexError, match="Dimension out of range"):
        getattr(ember.tensor(3.0), name)(dim)


DIM_ONLY = [
    ("roll", lambda lib: lib.tensor(3.0).roll(1, 0), ["roll", "no dimensions"]),
    ("unbind", lambda lib: lib.tensor(3.0).unbind(0), ["unbind", "no dimensions"]),
    ("select", lambda lib: lib.tensor(3.0).select(0, 0), ["select", "0-dim"]),
    ("narrow", lambda lib: lib.tensor(3.0).narrow(0, 0, 1), ["narrow", "0-dim"]),
    ("diff", lambda lib: lib.tensor(3.0).diff(), ["diff", "one-dimensional"]),
    ("unique_dim", lambda lib: lib.unique(lib.tensor(3.0), dim=0), ["no dimensions"]),
    ("kthvalue_k", lambda lib: lib.tensor(3.0).kthvalue(2), ["kthvalue", "k out of range"]),
]


@pytest.mark.parametrize("fn,fragments", [pytest.param(f, m, id=n) for n, f, m in DIM_ONLY])
def test_zero_dim_shape_op_errors_match_torch(fn, fragments):
    with pytest.raises(Exception) as ref:
        fn(torch)
    expected = next(c for c in ref.type.__mro__ if c.__module__ == "builtins")
    with pytest.raises(expected) as got:
        fn(ember)
    for fragment in fragments:
        assert fragment in str(got.value)
