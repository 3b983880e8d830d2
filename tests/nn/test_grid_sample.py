"""F.affine_grid and F.grid_sample against torch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as F
from tests.nn.helpers import check_gradcheck, compare_functions

DTYPES = ["float32", "float64"]
PADDINGS = ["zeros", "border", "reflection"]


def _sample(mode, padding_mode, align_corners):
    def fn(x, grid):
        f = TF.grid_sample if isinstance(x, torch.Tensor) else F.grid_sample
        return f(x, grid, mode, padding_mode, align_corners)

    return fn


def _inputs(seed, shape=(2, 3, 5, 6), out=(4, 7), spread=1.4):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    grid = rng.uniform(-spread, spread, (shape[0], *out, len(shape) - 2))
    return x, grid


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", PADDINGS)
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_matches_torch(dtype, mode, padding_mode, align_corners):
    fn = _sample(mode, padding_mode, align_corners)
    rtol, atol = (1e-5, 5e-5) if dtype == "float32" else (None, None)
    compare_functions(fn, fn, _inputs(0), dtype, rtol, atol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", PADDINGS)
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_3d_matches_torch(dtype, mode, padding_mode, align_corners):
    x, grid = _inputs(5, (2, 3, 4, 5, 6), (3, 2, 4))
    fn = _sample(mode, padding_mode, align_corners)
    rtol, atol = (1e-5, 2e-5) if dtype == "float32" else (None, None)
    compare_functions(fn, fn, [x, grid], dtype, rtol, atol)


@pytest.mark.parametrize("padding_mode", PADDINGS)
def test_grid_sample_3d_gradcheck(padding_mode):
    x, grid = _inputs(6, (1, 2, 2, 3, 4), (2, 2, 2), spread=1.3)
    check_gradcheck(_sample("bilinear", padding_mode, False), [x, grid])


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("padding_mode", PADDINGS)
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_gradcheck(mode, padding_mode, align_corners):
    # random points: almost surely away from the kinks at pixel centres and borders
    x, grid = _inputs(1, (1, 2, 3, 4), (2, 3), spread=1.3)
    check_gradcheck(_sample(mode, padding_mode, align_corners), [x, grid])


def test_grid_sample_nearest_gradcheck_input():
    x, grid = _inputs(2, (1, 2, 3, 4), (2, 3))
    check_gradcheck(_sample("nearest", "zeros", False), [x, grid], constant_inputs=(1,))


@pytest.mark.filterwarnings("ignore:Since version 1.3.0")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("size", [(2, 3, 4, 5), (2, 1, 1, 3), (2, 3, 2, 4, 5)])
def test_affine_grid_matches_torch(dtype, align_corners, size):
    theta = np.random.default_rng(3).standard_normal((2, 2, 3) if len(size) == 4 else (2, 3, 4))

    def fn(theta):
        f = TF.affine_grid if isinstance(theta, torch.Tensor) else F.affine_grid
        return f(theta, size, align_corners)

    compare_functions(fn, fn, [theta], dtype)
    check_gradcheck(lambda t: F.affine_grid(t, size, align_corners), [theta])


def test_spatial_transformer_chain():
    """affine_grid then grid_sample: gradients reach theta as in torch."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 6, 5))
    theta = np.array([[[0.9, 0.2, 0.1], [-0.1, 1.1, 0.05]]] * 2) + rng.normal(0, 0.05, (2, 2, 3))

    def fn(x, theta):
        lib = TF if isinstance(x, torch.Tensor) else F
        grid = lib.affine_grid(theta, (2, 3, 4, 4), align_corners=False)
        return lib.grid_sample(x, grid, align_corners=False)

    compare_functions(fn, fn, [x, theta])


def test_warnings():
    with pytest.warns(UserWarning, match="unit-size grids"):
        F.affine_grid(ember.zeros(1, 2, 3), (1, 1, 1, 2), align_corners=True)
    with pytest.warns(UserWarning, match="align_corners=False"):
        F.affine_grid(ember.zeros(1, 2, 3), (1, 1, 2, 2))
    with pytest.warns(UserWarning, match="align_corners=False"):
        F.grid_sample(ember.zeros(1, 1, 2, 2), ember.zeros(1, 2, 2, 2))


BAD_SAMPLE = [
    ((1, 1, 3, 3), (1, 2, 2, 2), dict(mode="area")),
    ((1, 1, 3, 3), (1, 2, 2, 2), dict(padding_mode="circular")),
    ((1, 1, 3, 3), (2, 2, 2, 2), {}),
    ((1, 1, 3, 3), (1, 2, 2, 3), {}),
    ((1, 1, 3, 3), (1, 2, 2), {}),
    ((1, 3, 3), (1, 2, 2), {}),
    ((1, 1, 2, 3, 3), (1, 2, 2, 2, 3), dict(mode="bicubic")),
]


@pytest.mark.parametrize("x_shape, grid_shape, kwargs", BAD_SAMPLE)
def test_grid_sample_errors_match_torch(x_shape, grid_shape, kwargs):
    with pytest.raises(Exception) as t_info:
        TF.grid_sample(torch.zeros(x_shape), torch.zeros(grid_shape), align_corners=False, **kwargs)
    with pytest.raises(t_info.type, match="grid_sample"):
        F.grid_sample(ember.zeros(x_shape), ember.zeros(grid_shape), align_corners=False, **kwargs)


def test_grid_sample_dtype_mismatch():
    with pytest.raises(RuntimeError):
        TF.grid_sample(
            torch.zeros(1, 1, 2, 2), torch.zeros(1, 2, 2, 2).double(), align_corners=True
        )
    with pytest.raises(RuntimeError, match="same dtype"):
        F.grid_sample(ember.zeros(1, 1, 2, 2), ember.zeros(1, 2, 2, 2).double(), align_corners=True)


BAD_AFFINE = [
    ((1, 3, 3), (1, 1, 2, 2)),
    ((1, 2, 3), (1, 1, 2, 2, 2)),
    ((1, 2, 3), (1, 1, 2)),
    ((1, 2, 3), (1, 1, 0, 2)),
]


@pytest.mark.parametrize("theta_shape, size", BAD_AFFINE)
def test_affine_grid_errors_match_torch(theta_shape, size):
    with pytest.raises(Exception) as t_info:
        TF.affine_grid(torch.zeros(theta_shape), size, align_corners=False)
    with pytest.raises(t_info.type):
        F.affine_grid(ember.zeros(theta_shape), size, align_corners=False)
    with pytest.raises(ValueError, match="floating point"):
        F.affine_grid(ember.zeros(1, 2, 3, dtype=ember.int64), (1, 1, 2, 2), False)
