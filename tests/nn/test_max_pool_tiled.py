"""Max pooling with stride equal to the kernel (the path without window copies), against torch."""

import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradgradcheck
from ember.backends import registry

CASES = [
    ((2, 3, 8, 8), 2),
    ((2, 3, 9, 7), 2),  # the last row and column are not covered, as in PyTorch
    ((1, 2, 9, 9), 3),
    ((2, 4, 6, 8), (2, 4)),
]


def _run(lib, x, k, channels_last=False):
    t = lib.tensor(x)
    if channels_last:
        t = t.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    t.requires_grad_(True)
    out, idx = lib.nn.functional.max_pool2d(t, k, return_indices=True)
    w = lib.tensor(np.arange(out.numel(), dtype=x.dtype).reshape(out.shape) % 7 - 3)
    (out * w).sum().backward()
    return out.detach().numpy(), idx.numpy(), t.grad.numpy()


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("shape,k", CASES)
def test_values_indices_and_gradients(shape, k, channels_last):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    for ref, got in zip(_run(torch, x, k, channels_last), _run(ember, x, k, channels_last)):
        np.testing.assert_array_equal(got, ref)


def test_ties_and_nans_pick_the_same_element_as_torch():
    x = np.zeros((1, 1, 4, 4), np.float32)
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = 5.0  # a tie inside the first window
    x[0, 0, 2, 3] = np.nan
    x[0, 0, 3, 2] = np.nan  # two NaNs in the last window
    x[0, 0, 2, 2] = 9.0
    for ref, got in zip(_run(torch, x, 2), _run(ember, x, 2)):
        np.testing.assert_array_equal(got, ref)


def test_double_backward():
    x = ember.tensor(np.random.default_rng(1).standard_normal((1, 2, 4, 6)), requires_grad=True)
    assert gradgradcheck(lambda t: ember.nn.functional.max_pool2d(t, 2), [x])


def test_non_finite_gradient_reaches_only_the_winning_element():
    x = np.random.default_rng(2).standard_normal((1, 2, 4, 4)).astype(np.float32)
    cot = np.ones((1, 2, 2, 2), np.float32)
    cot[0, 0, 0, 1] = np.inf
    cot[0, 1, 1, 0] = np.nan
    grads = []
    for lib in (torch, ember):
        t = lib.tensor(x, requires_grad=True)
        lib.nn.functional.max_pool2d(t, 2).backward(lib.tensor(cot))
        grads.append(t.grad.numpy())
    np.testing.assert_array_equal(grads[1], grads[0])


def _onednn_only():
    """oneDNN first, NumPy for what it declines (skips where oneDNN is missing)."""
    from ember.backends.onednn import library

    if "onednn" not in registry.backends_for("max_pool_grad") or not library.available():
        pytest.skip("no oneDNN here")
    return registry.only("onednn", "numpy")


def _pool_and_grad(lib, x, k, rank, grad, slice_last=False):
    leaf = lib.tensor(x, requires_grad=True)
    t = leaf[..., ::2] if slice_last else leaf
    out, idx = getattr(lib.nn.functional, f"max_pool{rank}d")(t, k, return_indices=True)
    out.backward(lib.tensor(grad))
    return out.detach().numpy(), idx.numpy(), leaf.grad.numpy()


def _ntuple(k, rank):
    return (k,) * rank if isinstance(k, int) else k


ONEDNN_CASES = [
    ((8, 32, 28, 28), 2),  # a CNN's first pooling, at a smaller batch
    ((4, 64, 14, 14), 2),
    ((2, 3, 9, 7), 2),  # the last row and column are not covered
    ((2, 5, 9, 12), (3, 4)),
    ((2, 3, 11), 3),
    ((2, 3, 5, 7, 9), (2, 3, 2)),
]


@pytest.mark.parametrize("fill", [None, 0.0, np.nan, -np.inf, np.inf])
@pytest.mark.parametrize("shape,k", ONEDNN_CASES)
def test_onednn_offset_planes_match_torch(shape, k, fill):
    """Contiguous float32 input: oneDNN gathers the window offsets for the forward and
    scatters the gradient (on CPUs whose oneDNN pools plain layouts in vector code, its
    pooling runs instead); ties (a constant fill), NaN and infinities pick torch's cell."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape).astype(np.float32)
    if fill is not None:
        x.reshape(-1)[::3] = fill
    rank = len(shape) - 2
    out_shape = (*shape[:2], *(s // kk for s, kk in zip(shape[2:], _ntuple(k, rank))))
    grad = rng.standard_normal(out_shape).astype(np.float32)
    with _onednn_only():
        ours = _pool_and_grad(ember, x, k, rank, grad)
        assert registry.last_used("max_pool_grad") == "onednn"
        if np.isfinite(x).all() or fill == np.inf:
            assert registry.last_used("max_pool") == "onednn"
    for got, ref in zip(ours, _pool_and_grad(torch, x, k, rank, grad)):
        np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_onednn_leaves_a_non_finite_gradient_to_numpy(bad):
    """oneDNN's scatter of the offset planes scales its winners by the gradient, and 0 * inf
    is NaN: such a gradient is NumPy's, which sends it to the winning cell alone, as torch
    does. Where oneDNN pools this layout itself (vector code for it, as on AVX-512 CPUs), its
    backward routes each value to the recorded winner, non-finite ones included."""
    from ember.backends.onednn import pool as onednn_pool

    rng = np.random.default_rng(13)
    x = rng.standard_normal((4, 8, 10, 12)).astype(np.float32)
    grad = rng.standard_normal((4, 8, 5, 6)).astype(np.float32)
    grad[1, 2, 3, 4] = grad[3, 7, 0, 0] = bad
    with _onednn_only():
        ours = _pool_and_grad(ember, x, 2, 2, grad)
        pooled_by_onednn = onednn_pool._plan(x.shape, "contiguous", (2, 2)) is not None
        expected = "onednn" if pooled_by_onednn else "numpy"
        assert registry.last_used("max_pool_grad") == expected
    for got, ref in zip(ours, _pool_and_grad(torch, x, 2, 2, grad)):
        np.testing.assert_array_equal(got, ref)


def test_onednn_gradient_of_a_non_contiguous_input_and_of_a_sum():
    """A strided slice pooled (NumPy's forward) and a broadcast gradient (that of a sum)."""
    x = np.random.default_rng(8).standard_normal((3, 4, 10, 16)).astype(np.float32)
    grad = np.random.default_rng(9).standard_normal((3, 4, 5, 4)).astype(np.float32)
    with _onednn_only():
        ours = _pool_and_grad(ember, x, 2, 2, grad, slice_last=True)
        assert registry.last_used("max_pool_grad") == "onednn"
    for got, ref in zip(ours, _pool_and_grad(torch, x, 2, 2, grad, slice_last=True)):
        np.testing.assert_array_equal(got, ref)
    grads = []
    for lib in (ember, torch):
        t = lib.tensor(x, requires_grad=True)
        with _onednn_only():
            lib.nn.functional.max_pool2d(t, 2).sum().backward()
        grads.append(t.grad.numpy())
    assert registry.last_used("max_pool_grad") == "onednn"
    np.testing.assert_array_equal(*grads)


def _grad_and_its_grad(lib, x, v, w):
    t, cot = lib.tensor(x, requires_grad=True), lib.tensor(v, requires_grad=True)
    (g,) = lib.autograd.grad(lib.nn.functional.max_pool2d(t, 2), t, cot, create_graph=True)
    (g * lib.tensor(w)).sum().backward()
    return g.detach().numpy(), cot.grad.numpy()


def test_onednn_double_backward_matches_torch():
    """The gradient's own gradient, in float32 through the oneDNN kernels."""
    rng = np.random.default_rng(10)
    x, w = rng.standard_normal((2, 2, 3, 8, 6)).astype(np.float32)
    v = rng.standard_normal((2, 3, 4, 3)).astype(np.float32)
    with _onednn_only():
        ours = _grad_and_its_grad(ember, x, v, w)
        assert registry.last_used("max_pool_grad") == "onednn"
    for got, ref in zip(ours, _grad_and_its_grad(torch, x, v, w)):
        np.testing.assert_array_equal(got, ref)
