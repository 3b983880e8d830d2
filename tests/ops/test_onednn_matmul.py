"""float32 products on oneDNN's matmul: every layout and stacking a product meets, against
float64 NumPy; what it declines goes back to NumPy; the ops that use it against PyTorch."""

import numpy as np
import pytest
import torch

import ember
from ember.backends.onednn import library
from ember.backends.onednn import matmul as onednn_matmul

pytestmark = pytest.mark.skipif(not library.available(), reason="no oneDNN here")


def _rand(rng, shape):
    return rng.standard_normal(shape).astype(np.float32)


def _check(a, b):
    got = onednn_matmul.product(a, b)
    assert got is not None
    assert got.dtype == np.float32 and got.flags.c_contiguous
    want = np.matmul(a.astype(np.float64), b.astype(np.float64))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.sqrt(a.shape[-1]))


@pytest.mark.parametrize("transpose_a", [False, True])
@pytest.mark.parametrize("transpose_b", [False, True])
def test_matrices_in_either_order(transpose_a, transpose_b):
    rng = np.random.default_rng(0)
    a = _rand(rng, (96, 200)).T if transpose_a else _rand(rng, (200, 96))
    b = _rand(rng, (130, 96)).T if transpose_b else _rand(rng, (96, 130))
    _check(a, b)


def test_strided_and_sliced_operands_are_read_or_copied():
    rng = np.random.default_rng(1)
    big = _rand(rng, (300, 260))
    _check(big[::2, 3:131], _rand(rng, (128, 140)))  # rows apart, columns contiguous
    _check(big[10:138, ::2], _rand(rng, (130, 100)))  # neither: copied
    _check(_rand(rng, (128, 128))[::-1], _rand(rng, (128, 128)))  # negative strides
    expanded = np.broadcast_to(_rand(rng, (1, 128)), (256, 128))  # zero row stride
    _check(expanded, _rand(rng, (128, 64)))


def test_a_stack_times_one_matrix_is_one_tall_product():
    rng = np.random.default_rng(2)
    _check(_rand(rng, (4, 64, 96)), _rand(rng, (96, 80)))
    x = _rand(rng, (8, 64, 3, 96)).transpose(0, 2, 1, 3)  # dims that do not merge
    _check(x, _rand(rng, (96, 80)))


def test_stacks_of_equal_batch_and_one_shared_left_matrix():
    rng = np.random.default_rng(3)
    q = _rand(rng, (16, 64, 4, 32)).transpose(0, 2, 1, 3)  # attention's head views
    k = _rand(rng, (16, 64, 4, 32)).transpose(0, 2, 3, 1)
    _check(q, k)
    _check(_rand(rng, (64, 96)), _rand(rng, (3, 96, 256)))


def test_into_a_given_result_of_any_plain_layout():
    rng = np.random.default_rng(7)
    a, b = _rand(rng, (16, 4, 64, 32)), _rand(rng, (16, 4, 32, 64))
    out = np.full((16, 64, 4, 64), np.nan, np.float32).transpose(0, 2, 1, 3)  # as attention's
    assert onednn_matmul.product(a, b, out=out) is out
    np.testing.assert_allclose(out, np.matmul(a, b), rtol=1e-4, atol=1e-4)
    a2 = _rand(rng, (128, 128))
    before = a2.copy()
    assert onednn_matmul.product(a2, a2, out=a2) is None  # the result would overwrite a
    np.testing.assert_array_equal(a2, before)
    assert onednn_matmul.product(a2, a2, out=np.empty((128, 64), np.float32)) is None


def test_what_it_declines():
    rng = np.random.default_rng(4)
    small = _rand(rng, (8, 8))
    assert onednn_matmul.product(small, small) is None  # under MIN_MACS: NumPy's
    big = _rand(rng, (128, 128))
    assert onednn_matmul.product(big.astype(np.float64), big.astype(np.float64)) is None
    assert onednn_matmul.product(_rand(rng, (2, 128, 128)), _rand(rng, (3, 128, 128))) is None
    assert onednn_matmul.product(big[0], big) is None  # a vector: NumPy's
    assert onednn_matmul.product(np.empty((0, 128), np.float32), big) is None


@pytest.mark.parametrize("shape", [(64, 300), (4, 32, 300)])
def test_linear_forward_and_backward_match_torch(shape):
    rng = np.random.default_rng(5)
    x, w, b = _rand(rng, shape), _rand(rng, (200, 300)), _rand(rng, (200,))
    g = _rand(rng, (*shape[:-1], 200))
    grads = []
    for lib in (ember, torch):
        xt, wt, bt = (lib.tensor(a, requires_grad=True) for a in (x, w, b))
        out = lib.nn.functional.linear(xt, wt, bt)
        out.backward(lib.tensor(g))
        grads.append([t.detach().numpy() for t in (out, xt.grad, wt.grad, bt.grad)])
    for got, want in zip(*grads):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)


def test_matmul_op_and_its_gradients_match_torch():
    rng = np.random.default_rng(6)
    a, b, g = _rand(rng, (3, 100, 120)), _rand(rng, (3, 120, 90)), _rand(rng, (3, 100, 90))
    results = []
    for lib in (ember, torch):
        at, bt = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        out = at @ bt
        out.backward(lib.tensor(g))
        results.append([t.detach().numpy() for t in (out, at.grad, bt.grad)])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
