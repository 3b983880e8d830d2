"""NumPy's OpenBLAS threads are ended before a convolution, and only when that is safe.

ember keeps OpenBLAS on one thread where oneDNN runs its products; these tests give it two
again, as a user's own setting would, to start its workers."""

import threading

import numpy as np
import pytest
import torch

import ember
from ember.backends.numpy import blas_pool
from ember.backends.onednn import library as onednn

pools = blas_pool._loaded_openblas()
pytestmark = pytest.mark.skipif(
    not pools or not onednn.available(), reason="NumPy's BLAS is not OpenBLAS or no oneDNN"
)


def _blas_threads_running():
    return any(running.value for running, _ in pools)


@pytest.fixture(autouse=True)
def _two_blas_threads():
    blas_pool.set_threads(2)
    yield
    blas_pool.set_threads(1)


def _start_blas_threads():
    a = np.ones((256, 256), np.float32)
    a @ a  # a multi-threaded product starts OpenBLAS's workers
    assert _blas_threads_running()


def _conv_after_matmul(lib):
    rng = np.random.default_rng(0)
    x, w, b, lw = (
        lib.tensor(rng.standard_normal(s), dtype=lib.float32, requires_grad=True)
        for s in [(4, 3, 8, 8), (8, 3, 3, 3), (8,), (5, 8 * 8 * 8)]
    )
    F = lib.nn.functional
    out = F.linear(F.relu(F.conv2d(x, w, b, padding=1)).flatten(1), lw).sum()
    out.backward()
    return out.detach().numpy(), x.grad.numpy(), w.grad.numpy()


def test_convolution_ends_spinning_blas_threads_and_values_stay_exact():
    _start_blas_threads()
    got = _conv_after_matmul(ember)
    ember.nn.functional.conv2d(ember.ones(1, 1, 4, 4), ember.ones(1, 1, 3, 3))
    # threads another test left alive (other than ember's own) keep the BLAS pool running
    assert _blas_threads_running() == (not blas_pool._only_ember_threads())
    expected = _conv_after_matmul(torch)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)
    a = np.arange(64, dtype=np.float64).reshape(8, 8)
    np.testing.assert_array_equal(a @ a, np.einsum("ij,jk->ik", a, a))  # BLAS still works


def test_no_park_while_a_thread_ember_did_not_start_is_alive():
    _start_blas_threads()
    release = threading.Event()
    other = threading.Thread(target=release.wait, name="user-thread")
    other.start()
    try:
        ember.nn.functional.conv2d(ember.ones(1, 1, 4, 4), ember.ones(1, 1, 3, 3))
        assert _blas_threads_running()
    finally:
        release.set()
        other.join()
    ember.nn.functional.conv2d(ember.ones(1, 1, 4, 4), ember.ones(1, 1, 3, 3))
    assert _blas_threads_running() == (not blas_pool._only_ember_threads())
