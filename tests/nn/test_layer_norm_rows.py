"""layer_norm on inputs of any shape as one op: the kernels read the input as a matrix of
rows, so no reshape runs before or after it. Values and first and second derivatives
against PyTorch for the shapes that path takes."""

import numpy as np
import pytest
import torch

import ember

CASES = [
    ((2, 3, 4), (4,)),
    ((2, 3, 4), (3, 4)),
    ((5,), (5,)),
    ((4, 5), (4, 5)),  # a matrix normalised whole: one row of 20
    ((0, 4), (4,)),
    ((3, 0), (0,)),
    ((16, 8, 256), (256,)),  # large enough for oneDNN's kernel
]


def _inputs(shape, normalized, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal(normalized).astype(np.float32)
    b = rng.standard_normal(normalized).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    return x, w, b, g


@pytest.mark.parametrize("shape, normalized", CASES, ids=str)
@pytest.mark.parametrize("affine", [True, False])
def test_values_and_gradients_match_torch(shape, normalized, affine):
    x, w, b, g = _inputs(shape, normalized)
    results = []
    for lib in (ember, torch):
        xt = lib.tensor(x, requires_grad=True)
        wt, bt = (
            (lib.tensor(w, requires_grad=True), lib.tensor(b, requires_grad=True))
            if affine
            else (None, None)
        )
        y = lib.nn.functional.layer_norm(xt, normalized, wt, bt)
        y.backward(lib.tensor(g))
        grads = [xt.grad] + ([wt.grad, bt.grad] if affine else [])
        results.append([y.detach().numpy()] + [t.numpy() for t in grads])
    for ours, theirs in zip(*results):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_no_reshape_around_the_op():
    x = ember.randn(2, 3, 4, requires_grad=True)
    y = ember.nn.functional.layer_norm(x, (4,))
    assert type(y.grad_fn).__name__ == "Normalize"  # not a reshape of its output


@pytest.mark.parametrize("shape, normalized", [((2, 3, 4), (4,)), ((2, 3, 4), (3, 4))], ids=str)
def test_second_derivatives_match_torch(shape, normalized):
    x, w, b, g = _inputs(shape, normalized, seed=1)
    results = []
    for lib in (ember, torch):
        xt = lib.tensor(x.astype(np.float64), requires_grad=True)
        wt = lib.tensor(w.astype(np.float64), requires_grad=True)
        bt = lib.tensor(b.astype(np.float64), requires_grad=True)
        y = lib.nn.functional.layer_norm(xt, normalized, wt, bt)
        gx, gw = lib.autograd.grad(y, (xt, wt), lib.tensor(g.astype(np.float64)), create_graph=True)
        (gx.square().sum() + gw.sin().sum()).backward()
        results.append([t.detach().numpy() for t in (gx, gw, xt.grad, wt.grad)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-10)


def test_non_contiguous_input():
    x, w, b, g = _inputs((4, 3, 6), (4,))
    ours = ember.nn.functional.layer_norm(ember.tensor(x).permute(2, 1, 0), (4,), ember.tensor(w))
    theirs = torch.nn.functional.layer_norm(torch.tensor(x).permute(2, 1, 0), (4,), torch.tensor(w))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)
