"""matmul on stacks of matrices stored in every layout attention produces, against torch.

Small transposed right-hand stacks take a contiguous copy before BLAS; the values, dtypes and
gradients must not depend on the layout.
"""

import numpy as np
import pytest
import torch

import ember

B, H, T, D = 3, 2, 5, 4


def _qkv(dtype, seed=0):
    """q, k, v of shape (B, H, T, D) as views of one (B, T, 3 H D) projection."""
    rng = np.random.default_rng(seed)
    qkv = rng.standard_normal((B, T, 3 * H * D)) + (
        1j * rng.standard_normal((B, T, 3 * H * D)) if dtype.startswith("complex") else 0
    )
    return qkv.astype(dtype)


def _split(lib, qkv):
    q, k, v = qkv.split(H * D, dim=2)
    return [z.reshape(B, T, H, D).transpose(1, 2) for z in (q, k, v)]


LAYOUTS = {
    "q @ k^T": lambda q, k, v: q @ k.transpose(-2, -1),
    "k^T-contiguous": lambda q, k, v: q @ k.contiguous().transpose(-2, -1),
    "q^T @ v": lambda q, k, v: q.transpose(-2, -1) @ v,
    "scores @ v": lambda q, k, v: (q @ k.mT) @ v,
    "bmm of transposed": lambda q, k, v: torch_or_ember_bmm(q, k),
    "broadcast batch": lambda q, k, v: q @ k[:1].mT,
    "expanded batch": lambda q, k, v: q @ k[:, :1].expand(B, H, T, D).mT,
    "matrix @ stack^T": lambda q, k, v: q[0, 0] @ k.mT,
}


def torch_or_ember_bmm(q, k):
    return q.reshape(B * H, T, D).bmm(k.reshape(B * H, T, D).mT)


def _run(lib, layout, qkv, requires_grad):
    t = lib.tensor(qkv, requires_grad=requires_grad)
    out = LAYOUTS[layout](*_split(lib, t))
    if not requires_grad:
        return out.numpy(), None
    weights = lib.tensor(np.cos(np.arange(out.numel())).reshape(out.shape).astype(qkv.dtype))
    (out * weights).sum().abs().backward()
    return out.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64"])
def test_values_and_gradients_match_torch(layout, dtype):
    qkv = _qkv(dtype)
    (out, grad), (want, want_grad) = (_run(lib, layout, qkv, True) for lib in (ember, torch))
    tol = 1e-5 if dtype in ("float32", "complex64") else 1e-12
    assert out.dtype == want.dtype
    np.testing.assert_allclose(out, want, rtol=tol, atol=tol)
    np.testing.assert_allclose(grad, want_grad, rtol=tol, atol=tol)


@pytest.mark.parametrize("layout", ["q @ k^T", "scores @ v", "broadcast batch"])
def test_integer_stacks_stay_exact(layout):
    qkv = np.random.default_rng(1).integers(-9, 9, (B, T, 3 * H * D))
    (out, _), (want, _) = (_run(lib, layout, qkv, False) for lib in (ember, torch))
    assert out.dtype == want.dtype == np.int64
    np.testing.assert_array_equal(out, want)


def test_bfloat16_transposed_stack_matches_torch():
    qkv = _qkv("float32", seed=2)
    e = LAYOUTS["q @ k^T"](*_split(ember, ember.tensor(qkv).to(ember.bfloat16)))
    t = LAYOUTS["q @ k^T"](*_split(torch, torch.tensor(qkv).to(torch.bfloat16)))
    assert e.dtype == ember.bfloat16
    np.testing.assert_allclose(e.float().numpy(), t.float().numpy(), rtol=2e-2, atol=2e-2)


def test_transposed_stack_is_not_modified_and_result_owns_memory():
    qkv = _qkv("float32", seed=3)
    q, k, _ = _split(ember, ember.tensor(qkv))
    before = k.numpy().copy()
    out = q @ k.mT
    out.add_(1.0)
    np.testing.assert_array_equal(k.numpy(), before)


def test_only_small_transposed_stacks_are_copied():
    from ember._ops.linalg import _row_major_small_matrices

    small = np.ones((4, 32, 64), np.float32).transpose(0, 2, 1)
    large = np.ones((4, 128, 128), np.float32).transpose(0, 2, 1)
    broadcast = np.broadcast_to(np.ones((1, 32, 64), np.float32), (4, 32, 64)).transpose(0, 2, 1)
    assert _row_major_small_matrices(small).flags.c_contiguous
    for kept in (large, broadcast, small.transpose(0, 2, 1)):
        assert _row_major_small_matrices(kept) is kept
