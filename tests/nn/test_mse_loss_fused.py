"""mse_loss's mean and sum as one op (``_SquaredErrorTotal``) against PyTorch: values,
gradients of input and target, and second derivatives through a recorded backward."""

import numpy as np
import pytest
import torch

import ember

SHAPES = [(3,), (128, 10), (64, 1), (512, 1024)]


def _pair(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    t = rng.standard_normal(shape).astype(dtype)
    if x.size > 4:
        x.flat[:4] = [0.0, 3e4, -1e-20, 2.5]  # zero, large and tiny differences
        t.flat[:4] = [0.0, -3e4, 1e-20, 2.5]
    return x, t


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("shape", SHAPES)
def test_values_and_gradients_match_torch(shape, reduction, dtype):
    x, t = _pair(shape, dtype)
    results = []
    for lib in (torch, ember):
        xs, ts = lib.tensor(x, requires_grad=True), lib.tensor(t, requires_grad=True)
        loss = lib.nn.functional.mse_loss(xs, ts, reduction=reduction)
        loss.backward(lib.tensor(1.5, dtype=loss.dtype))
        results.append((loss.detach().numpy(), xs.grad.numpy(), ts.grad.numpy(), loss.dtype))
    (want, want_gx, want_gt, want_dtype), (got, gx, gt, dtype_) = results
    assert str(dtype_).split(".")[-1] == str(want_dtype).split(".")[-1]
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=rtol)
    np.testing.assert_allclose(gx, want_gx, rtol=rtol, atol=0)
    np.testing.assert_allclose(gt, want_gt, rtol=rtol, atol=0)


def test_fused_op_serves_the_common_case_and_not_the_rest():
    x = ember.randn(8, 3, requires_grad=True)
    t = ember.randn(8, 3)
    F = ember.nn.functional
    assert type(F.mse_loss(x, t).grad_fn).__name__ == "_SquaredErrorTotal"
    assert type(F.mse_loss(x, t, reduction="sum").grad_fn).__name__ == "_SquaredErrorTotal"
    assert type(F.mse_loss(x, t, reduction="none").grad_fn).__name__ != "_SquaredErrorTotal"
    assert type(F.mse_loss(x, t.double()).grad_fn).__name__ != "_SquaredErrorTotal"


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_second_derivatives_match_torch(reduction):
    """A recorded backward is differentiable in input, target and the incoming gradient."""
    x, t = _pair((4, 5), np.float64, seed=1)
    results = []
    for lib in (torch, ember):
        xs, ts = lib.tensor(x, requires_grad=True), lib.tensor(t, requires_grad=True)
        loss = lib.nn.functional.mse_loss(xs, ts, reduction=reduction)
        gx, gt = lib.autograd.grad(loss, (xs, ts), create_graph=True)
        (gx * gx).sum().backward()
        results.append((xs.grad.numpy(), ts.grad.numpy(), (gx + gt).detach().numpy()))
    for got, want in zip(results[1], results[0]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_input_changed_in_place_after_forward_raises():
    x = ember.randn(5, requires_grad=True)
    y = x * 1.0
    loss = ember.nn.functional.mse_loss(y, ember.zeros(5))
    y.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()
