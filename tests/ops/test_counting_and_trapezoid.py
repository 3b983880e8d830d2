"""bincount, isin, trapezoid and the special-function Tensor methods against PyTorch."""

import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradcheck


@pytest.mark.parametrize("minlength", [0, 3, 9])
def test_bincount(minlength):
    x = np.array([1, 3, 3, 0, 5, 1, 1])
    w = np.linspace(0.1, 0.7, 7)
    assert (
        ember.bincount(ember.tensor(x), minlength=minlength).tolist()
        == torch.bincount(torch.tensor(x), minlength=minlength).tolist()
    )
    for dtype in (np.float32, np.float64):
        ours = ember.bincount(ember.tensor(x), ember.tensor(w.astype(dtype)), minlength)
        theirs = torch.bincount(torch.tensor(x), torch.tensor(w.astype(dtype)), minlength)
        assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    assert ember.tensor(x).bincount().tolist() == torch.tensor(x).bincount().tolist()


@pytest.mark.parametrize("bad", [np.array([-1, 2]), np.array([[1, 2]])])
def test_bincount_errors(bad):
    with pytest.raises(RuntimeError, match="1-d non-negative integral"):
        ember.bincount(ember.tensor(bad))
    with pytest.raises(RuntimeError, match="1-d non-negative integral"):
        torch.bincount(torch.tensor(bad))
    with pytest.raises(NotImplementedError, match="Float"):
        ember.bincount(ember.tensor([1.0]))


@pytest.mark.parametrize("invert", [False, True])
def test_isin(invert):
    a, b = np.array([[1, 2, 3], [4, 2, 7]]), np.array([2, 7, 9])
    ours = ember.isin(ember.tensor(a), ember.tensor(b), invert=invert)
    theirs = torch.isin(torch.tensor(a), torch.tensor(b), invert=invert)
    assert ours.dtype == ember.bool and ours.tolist() == theirs.tolist()
    assert (
        ember.isin(ember.tensor([1.0, 2.0]), 2.0).tolist()
        == torch.isin(torch.tensor([1.0, 2.0]), 2.0).tolist()
    )
    assert bool(ember.isin(3, ember.tensor([3]))) == bool(torch.isin(3, torch.tensor([3])))


@pytest.mark.parametrize("case", ["dx", "x1d", "xfull", "dim0"])
def test_trapezoid_values_and_gradients(case):
    rng = np.random.default_rng(0)
    y = rng.standard_normal((3, 5))
    x1 = np.sort(rng.uniform(0, 4, 5))
    args = {
        "dx": ((), {"dx": 0.3}),
        "x1d": ((x1,), {}),
        "xfull": ((np.sort(rng.uniform(0, 4, (3, 5)), axis=1),), {}),
        "dim0": ((), {"dim": 0}),
    }[case]
    for name in ("trapezoid", "cumulative_trapezoid"):
        ours = getattr(ember, name)(ember.tensor(y), *map(ember.tensor, args[0]), **args[1])
        theirs = getattr(torch, name)(torch.tensor(y), *map(torch.tensor, args[0]), **args[1])
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    yt = ember.tensor(y, requires_grad=True)
    assert gradcheck(lambda t: ember.trapezoid(t, *map(ember.tensor, args[0]), **args[1]), (yt,))
    np.testing.assert_allclose(
        ember.trapz(ember.tensor(y), dx=0.3).numpy(), torch.trapz(torch.tensor(y), dx=0.3).numpy()
    )


def test_special_function_methods():
    x = np.array([0.3, 1.7, 4.0])
    for name, args in (("lgamma", ()), ("digamma", ()), ("polygamma", (2,)), ("i0", ()),
                       ("sinc", ()), ("mvlgamma", (1,))):  # fmt: skip
        ours = getattr(ember.tensor(x), name)(*args).numpy()
        np.testing.assert_allclose(ours, getattr(torch.tensor(x), name)(*args).numpy(), rtol=1e-10)
        te, tt = ember.tensor(x), torch.tensor(x)
        getattr(te, name + "_")(*args)
        getattr(tt, name + "_")(*args)
        np.testing.assert_allclose(te.numpy(), tt.numpy(), rtol=1e-10)
    a, b = ember.tensor(x), torch.tensor(x)
    np.testing.assert_allclose(a.igamma(a + 1).numpy(), b.igamma(b + 1).numpy(), rtol=1e-10)
    a.igammac_(a + 1)
    b.igammac_(b + 1)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10)
