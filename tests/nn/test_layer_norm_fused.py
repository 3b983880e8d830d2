"""layer_norm's fused path (affine inside one op) against torch, first and second order."""

import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradcheck, gradgradcheck


@pytest.mark.parametrize("affine", ["both", "weight", "none"])
@pytest.mark.parametrize("shape,normalized", [((3, 5, 8), (8,)), ((2, 3, 4, 5), (4, 5))])
def test_values_gradients_and_gradient_penalty(shape, normalized, affine):
    rng = np.random.default_rng(0)
    arrays = [
        rng.standard_normal(shape),
        rng.standard_normal(normalized),
        rng.standard_normal(normalized),
    ]
    results = []
    for lib in (torch, ember):
        x, w, b = (lib.tensor(a, requires_grad=True) for a in arrays)
        w_arg = w if affine in ("both", "weight") else None
        b_arg = b if affine == "both" else None
        out = lib.nn.functional.layer_norm(x, normalized, w_arg, b_arg, eps=1e-5)
        cot = lib.tensor(np.linspace(-2, 2, out.numel()).reshape(out.shape))
        (gx,) = lib.autograd.grad((out * cot).sum(), x, create_graph=True)
        (gx**2).sum().backward()
        grads = [t.grad for t in (x, w_arg, b_arg) if t is not None]
        grads = [None if g is None else g.numpy() for g in grads]  # b has no second-order grad
        results.append([out.detach().numpy(), gx.detach().numpy()] + grads)
    for ref, got in zip(*results):
        assert (ref is None) == (got is None)
        if ref is not None:
            np.testing.assert_allclose(got, ref, rtol=1e-8, atol=1e-9)


def test_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(1)
    x, w, b = (
        ember.tensor(rng.standard_normal(s), requires_grad=True) for s in ((4, 6), (6,), (6,))
    )
    fn = lambda x, w, b: ember.nn.functional.layer_norm(x, (6,), w, b)  # noqa: E731
    assert gradcheck(fn, [x, w, b])
    assert gradgradcheck(fn, [x, w, b])
