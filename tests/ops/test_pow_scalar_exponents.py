"""x ** e for the exponents ember computes without the general power function: values,
dtypes and gradients as PyTorch's, including zeros, negatives, inf and nan."""

import numpy as np
import pytest
import torch

import ember

EXPONENTS = [2, 3, 0.5, -0.5, -1, -2, 4, 5, 8, 4.0, 2.5, 9]
VALUES = [0.0, -0.0, 1.5, -2.25, 3.0, 1e-3, -7.5, float("inf"), float("-inf"), float("nan")]


@pytest.mark.parametrize("dtype,rtol", [("float32", 2e-6), ("float64", 1e-14)])
@pytest.mark.parametrize("exponent", EXPONENTS)
def test_scalar_exponent_matches_torch(exponent, dtype, rtol):
    results = []
    for lib in (torch, ember):
        x = lib.tensor(VALUES, dtype=getattr(lib, dtype))
        y = x**exponent
        assert str(y.dtype).split(".")[-1] == dtype
        results.append(y.numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=rtol, atol=0, equal_nan=True)


@pytest.mark.parametrize("exponent", EXPONENTS)
def test_scalar_exponent_gradient_matches_torch(exponent):
    grads = []
    for lib in (torch, ember):
        x = lib.tensor([0.5, 1.5, 2.0, 3.25], dtype=lib.float64, requires_grad=True)
        (x**exponent).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-12)
    x = ember.tensor([0.5, 1.5, 2.0], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda t: t**exponent, (x,))


def test_integer_tensors_keep_integer_powers():
    got = [lib.tensor([2, -3, 0]) ** 3 for lib in (torch, ember)]
    assert got[1].tolist() == got[0].tolist()
    assert str(got[1].dtype).split(".")[-1] == str(got[0].dtype).split(".")[-1]


@pytest.mark.parametrize("call", ["x ** 2", "x ** 3", "torch.pow(x, 3.0)", "x.pow(2.0)"])
def test_squares_and_cubes_take_the_two_pass_gradient(call, monkeypatch):
    """The backward of x ** 2 and x ** 3 with a Python exponent runs the fused kernel (the
    exponent is kept as the number it was, not the tensor saving makes of it), with
    PyTorch's gradient, values at zero, inf and NaN included; recorded, it stays
    differentiable."""
    from ember._ops import arithmetic

    calls = []
    for exponent, kernel in list(arithmetic._POWER_GRADS.items()):
        monkeypatch.setitem(
            arithmetic._POWER_GRADS,
            exponent,
            lambda *args, kernel=kernel, **kwargs: calls.append(1) or kernel(*args, **kwargs),
        )
    values = np.array(VALUES * 10, np.float32)
    g = np.linspace(-2, 2, values.size, dtype=np.float32)
    grads = []
    for lib in (torch, ember):
        x = lib.tensor(values, requires_grad=True)
        eval(call, {"torch": lib, "x": x}).backward(lib.tensor(g))
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-6, equal_nan=True)
    assert calls == [1]
    x = ember.tensor([0.5, -1.5], dtype=ember.float64, requires_grad=True)
    (first,) = ember.autograd.grad(eval(call, {"torch": ember, "x": x}).sum(), x, create_graph=True)
    (second,) = ember.autograd.grad(first.sum(), x)
    power = 2 if "2" in call else 3
    np.testing.assert_allclose(
        second.numpy(), power * (power - 1) * x.detach().numpy() ** (power - 2)
    )
