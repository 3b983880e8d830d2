"""Stacks of small float32 products on oneDNN: the layouts it reads in place, what it
declines, and matmul and attention through it against PyTorch."""

import numpy as np
import pytest
import torch

import ember
import ember.nn.functional as F
from ember.backends.onednn import batched_matmul, library

pytestmark = pytest.mark.skipif(not library.available(), reason="oneDNN is not installed")

rng = np.random.default_rng(0)


def _f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


LAYOUTS = {
    "plain": lambda: (_f32(16, 4, 64, 32), _f32(16, 4, 32, 64)),
    "key transposed": lambda: (_f32(16, 4, 64, 32), _f32(16, 4, 64, 32).swapaxes(-1, -2)),
    "left transposed": lambda: (_f32(16, 4, 32, 64).swapaxes(-1, -2), _f32(16, 4, 32, 64)),
    "head views": lambda: tuple(
        _f32(16, 64, 2, 4, 32)[:, :, i].transpose(0, 2, 1, 3) for i in range(2)
    ),
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_products_match_torch_in_every_layout(layout):
    a, b = LAYOUTS[layout]()
    if layout == "head views":
        b = b.swapaxes(-1, -2)
    out = batched_matmul.matmul(a, b)
    assert out is not None, "oneDNN should take a stack of this size"
    expected = (torch.from_numpy(a.copy()) @ torch.from_numpy(b.copy())).numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_writes_into_a_strided_output():
    a, b = _f32(16, 4, 64, 32), _f32(16, 4, 32, 64)
    out = np.empty((16, 64, 4, 64), np.float32).transpose(0, 2, 1, 3)
    assert batched_matmul.matmul(a, b, out=out) is out
    np.testing.assert_allclose(out, np.matmul(a, b), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "a, b",
    [
        (_f32(2, 8, 8), _f32(2, 8, 8)),  # too small to pay for the call
        (_f32(16, 64, 32).astype(np.float64), _f32(16, 32, 64).astype(np.float64)),
        (_f32(16, 4, 64, 32), _f32(1, 4, 32, 64)),  # broadcast batch
        (_f32(2, 256, 256), _f32(2, 256, 256)[:, :, :0]),  # empty
        (_f32(2, 1024, 1024), _f32(2, 1024, 1024)),  # large products: OpenBLAS threads them
    ],
    ids=["small", "float64", "broadcast", "empty", "large"],
)
def test_declines_what_numpy_does_better_or_it_cannot_take(a, b):
    assert batched_matmul.matmul(a, b) is None


def test_matmul_and_its_gradients_match_torch():
    a, b = _f32(16, 4, 64, 32), _f32(16, 4, 64, 32)
    ea, eb = (ember.tensor(x, requires_grad=True) for x in (a, b))
    ta, tb = (torch.tensor(x, requires_grad=True) for x in (a, b))
    g = _f32(16, 4, 64, 64)
    (ea @ eb.mT).backward(ember.tensor(g))
    (ta @ tb.mT).backward(torch.tensor(g))
    np.testing.assert_allclose((ea @ eb.mT).detach().numpy(), (ta @ tb.mT).detach().numpy(),
                               rtol=1e-5, atol=1e-5)  # fmt: skip
    np.testing.assert_allclose(ea.grad.numpy(), ta.grad.numpy(), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(eb.grad.numpy(), tb.grad.numpy(), rtol=1e-5, atol=1e-4)


def test_causal_attention_matches_torch():
    qkv = _f32(16, 64, 3, 4, 32)
    grads = []
    for lib, functional in ((ember, F), (torch, torch.nn.functional)):
        q, k, v = (
            lib.tensor(qkv[:, :, i].copy()).transpose(1, 2).requires_grad_() for i in range(3)
        )
        y = functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        y.backward(lib.tensor(qkv[:, :, 0].transpose(0, 2, 1, 3).copy()))
        grads.append([y.detach().numpy(), *(t.grad.numpy() for t in (q, k, v))])
    for got, expected in zip(*grads):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=2e-5)
