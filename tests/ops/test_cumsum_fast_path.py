"""cumsum of large float arrays along the last axis through ``backends/numpy/scan.py``: values
and gradients against PyTorch and a float64 reference (never less accurate than NumPy's
sequential float32 sum), rows with NaN, infinities or overflow exactly as ``np.cumsum``
gives them, integer and ``dtype=`` promotion, and the same bits whatever the thread count."""

import numpy as np
import pytest
import torch

import ember
from ember.backends.numpy import scan, threads

# Rows of one block or less, a multiple of the block, padded rows, one long row (three levels
# of block totals), more than two dimensions.
SHAPES = [(20000, 7), (256, 1024), (300, 1000), (3, 100003), (1, 1 << 18), (2, 3, 50, 333)]


def _data(shape, rng, low=-1.0, high=2.0, dtype=np.float32):
    return rng.uniform(low, high, shape).astype(dtype)


def _reverse_cumsum(a):
    return np.cumsum(a[..., ::-1], axis=-1)[..., ::-1]


def _check_close(ours, theirs, x, reverse=False):
    """ours within a few float32 roundings of each partial sum of |x| from PyTorch (which
    sums in double), and no further from the float64 sums than NumPy's sequential float32
    sums are."""
    x64 = np.abs(x.astype(np.float64))
    scale = _reverse_cumsum(x64) if reverse else np.cumsum(x64, axis=-1)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    assert np.all(np.abs(ours.astype(np.float64) - theirs) <= 4e-7 * scale + 1e-30)
    exact = _reverse_cumsum(x.astype(np.float64)) if reverse else np.cumsum(x, -1, np.float64)
    sequential = _reverse_cumsum(x) if reverse else np.cumsum(x, axis=-1)
    assert np.abs(ours - exact).max() <= np.abs(sequential - exact).max()


@pytest.mark.parametrize("shape", SHAPES)
def test_forward_and_gradient_match_torch(shape):
    rng = np.random.default_rng(0)
    x, g = _data(shape, rng), _data(shape, rng)
    assert scan.cumsum(x) is not None and scan.cumsum(g, reverse=True) is not None
    xe = ember.from_numpy(x).requires_grad_()
    ye = xe.cumsum(-1)
    ye.backward(ember.from_numpy(g))
    xt = torch.from_numpy(x).requires_grad_()
    yt = xt.cumsum(-1)
    yt.backward(torch.from_numpy(g))
    _check_close(ye.detach().numpy(), yt.detach().numpy(), x)
    _check_close(xe.grad.numpy(), xt.grad.numpy(), g, reverse=True)


@pytest.mark.parametrize(
    "view",
    [lambda a: a.T, lambda a: a[:, ::3], lambda a: a[1:, 5:], lambda a: a[::-1]],
    ids=["transposed", "strided", "offset", "flipped"],
)
def test_non_contiguous_input(view):
    base = _data((900, 1200), np.random.default_rng(1))
    x = view(base)
    ours = view(ember.from_numpy(base)).cumsum(-1).numpy()
    _check_close(ours, torch.from_numpy(x.copy()).cumsum(-1).numpy(), x)


def test_gradient_through_create_graph_and_other_dims():
    """The double-backward path (flipped cumulative sum of the gradient as a graph) and a
    cumulative sum over another dimension, which keeps NumPy's path."""
    rng = np.random.default_rng(2)
    x, g = _data((128, 2048), rng), _data((128, 2048), rng)
    xe = ember.from_numpy(x).requires_grad_()
    (grad_e,) = ember.autograd.grad(xe.cumsum(-1), xe, ember.from_numpy(g), create_graph=True)
    xt = torch.from_numpy(x).requires_grad_()
    (grad_t,) = torch.autograd.grad(xt.cumsum(-1), xt, torch.from_numpy(g), create_graph=True)
    _check_close(grad_e.detach().numpy(), grad_t.detach().numpy(), g, reverse=True)
    np.testing.assert_allclose(
        ember.from_numpy(x).cumsum(0).numpy(),
        torch.from_numpy(x).cumsum(0).numpy(),
        rtol=1e-5,
        atol=1e-5,
    )


def test_special_values_as_numpy_gives_them():
    """Rows holding NaN, infinities of either sign or finite values that overflow come out
    exactly as ``np.cumsum`` gives them (NaN and infinities where PyTorch has them); the
    other rows keep the fast path's sums."""
    rng = np.random.default_rng(3)
    x = _data((64, 4096), rng)
    x[3, 100] = np.nan
    x[5, 7] = np.inf
    x[7, 4000] = -np.inf
    x[9, [10, 20]] = [np.inf, -np.inf]
    x[11, 1000:1003] = 3e38  # overflows to inf
    x[13, -1] = np.nan
    x[15, 0] = -np.inf
    x[17] = -0.0  # PyTorch's sums start from +0.0, so all are +0.0 (NumPy's are -0.0)
    special = [3, 5, 7, 9, 11, 13, 15]
    g = _data(x.shape, rng)
    g[[3, 5, 7, 9, 11, 11, 13, 15], [2000, 4095, 0, 30, 1000, 1001, 17, 4095]] = [
        np.nan, np.inf, -np.inf, np.inf, 3e38, 3e38, np.nan, np.inf,
    ]  # fmt: skip
    xe = ember.from_numpy(x).requires_grad_()
    ye = xe.cumsum(-1)
    ye.backward(ember.from_numpy(g))
    ours, grad = ye.detach().numpy(), xe.grad.numpy()
    np.testing.assert_array_equal(ours[special], np.cumsum(x[special], axis=-1))
    np.testing.assert_array_equal(grad[special], _reverse_cumsum(g[special]))
    theirs = torch.from_numpy(x).cumsum(-1).numpy()
    for row in [3, 5, 7, 9, 13, 15]:
        np.testing.assert_array_equal(
            ours[row][~np.isfinite(theirs[row])], theirs[row][~np.isfinite(theirs[row])]
        )
        np.testing.assert_array_equal(np.isfinite(ours[row]), np.isfinite(theirs[row]))
    np.testing.assert_array_equal(np.signbit(ours[17]), np.signbit(theirs[17]))
    rest = np.setdiff1d(np.arange(64), special)
    _check_close(ours[rest], theirs[rest], x[rest])


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_])
def test_integer_inputs_promote_to_int64(dtype):
    x = np.random.default_rng(4).integers(-1000, 1000, (64, 4099)).astype(dtype)
    ours, theirs = ember.from_numpy(x).cumsum(-1), torch.from_numpy(x).cumsum(-1)
    assert ours.dtype == ember.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize(
    "source, target",
    [(np.float32, torch.float64), (np.float64, None), (np.int32, torch.float32)],
)
def test_dtype_argument_and_float64(source, target):
    x = _data((96, 3000), np.random.default_rng(5), dtype=source)
    if source is np.int32:
        x = np.random.default_rng(5).integers(-50, 50, x.shape).astype(np.int32)
    ours = ember.from_numpy(x).cumsum(
        -1, dtype=None if target is None else getattr(ember, str(target).split(".")[1])
    )
    theirs = torch.from_numpy(x).cumsum(-1, dtype=target)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch", "ember")
    tolerance = 1e-12 if theirs.dtype == torch.float64 else 1e-6
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=tolerance, atol=tolerance)


def test_out_and_in_place():
    x = _data((128, 2048), np.random.default_rng(6))
    expected = torch.from_numpy(x).cumsum(-1).numpy()
    out = ember.empty(x.shape)
    ember.cumsum(ember.from_numpy(x), -1, out=out)
    _check_close(out.numpy(), expected, x)
    inplace = ember.from_numpy(x.copy())
    inplace.cumsum_(-1)
    _check_close(inplace.numpy(), expected, x)


@pytest.mark.parametrize("shape", [(512, 1024), (1, 1 << 20), (40000, 9)])
def test_same_bits_whatever_the_thread_count(shape, monkeypatch):
    monkeypatch.setattr(threads, "_split_from", threads.MIN_ELEMENTS)  # split from 256k
    x = _data(shape, np.random.default_rng(7))
    before = ember.get_num_threads()
    try:
        results = []
        for count in (1, 2, 3):
            ember.set_num_threads(count)
            results.append((scan.cumsum(x), scan.cumsum(x, reverse=True)))
    finally:
        ember.set_num_threads(before)
    for forward, backward in results[1:]:
        np.testing.assert_array_equal(forward, results[0][0])
        np.testing.assert_array_equal(backward, results[0][1])
