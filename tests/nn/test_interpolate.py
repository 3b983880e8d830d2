"""F.interpolate and the Upsample modules against torch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as F
from tests.nn.helpers import check_gradcheck, compare_functions, compare_modules

DTYPES = ["float32", "float64"]

CASES = [
    ((2, 3, 5, 7), "nearest", dict(size=(9, 4))),
    ((2, 3, 5, 7), "nearest", dict(scale_factor=1.7)),
    ((2, 3, 5, 7), "nearest", dict(scale_factor=2)),
    ((2, 3, 6), "nearest", dict(scale_factor=0.5)),
    ((1, 2, 3, 4, 5), "nearest", dict(size=(5, 2, 7))),
    ((2, 3, 5, 7), "nearest-exact", dict(scale_factor=(2.3, 0.6))),
    ((2, 3, 7), "nearest-exact", dict(size=4)),
    ((2, 3, 5), "linear", dict(scale_factor=0.7)),
    ((2, 3, 5), "linear", dict(size=11, align_corners=True)),
    ((2, 3, 5, 7), "bilinear", dict(size=(9, 4))),
    ((2, 3, 5, 7), "bilinear", dict(size=(5, 7))),
    ((2, 3, 5, 7), "bilinear", dict(scale_factor=1.7)),
    ((2, 3, 5, 7), "bilinear", dict(scale_factor=1.7, align_corners=True)),
    ((2, 3, 5, 7), "bilinear", dict(scale_factor=(1.7, 0.4), recompute_scale_factor=True)),
    ((2, 3, 5, 7), "bicubic", dict(size=(9, 4))),
    ((2, 3, 5, 7), "bicubic", dict(size=(5, 7))),
    ((2, 3, 5, 7), "bicubic", dict(scale_factor=2.5, align_corners=True)),
    ((2, 3, 5, 7), "bicubic", dict(scale_factor=0.6, recompute_scale_factor=True)),
    ((1, 2, 3, 4, 5), "trilinear", dict(scale_factor=1.5)),
    ((1, 2, 3, 4, 5), "trilinear", dict(size=(2, 6, 3), align_corners=True)),
    ((2, 3, 5, 7), "area", dict(size=(3, 4))),
    ((2, 3, 8), "area", dict(scale_factor=0.5)),
]


def _fn(mode, kwargs):
    def fn(x):
        f = TF.interpolate if isinstance(x, torch.Tensor) else F.interpolate
        return f(x, mode=mode, **kwargs)

    return fn


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, mode, kwargs", CASES)
def test_interpolate_matches_torch(dtype, shape, mode, kwargs):
    x = np.random.default_rng(0).standard_normal(shape)
    fn = _fn(mode, kwargs)
    compare_functions(fn, fn, [x], dtype, rtol=1e-5, atol=2e-6 if dtype == "float32" else None)


@pytest.mark.parametrize("shape, mode, kwargs", CASES[::3])
def test_interpolate_gradcheck(shape, mode, kwargs):
    x = np.random.default_rng(1).standard_normal(shape)
    check_gradcheck(_fn(mode, kwargs), [x], second_order=mode in ("bilinear", "nearest"))


def test_nearest_copies_nonfinite():
    x = np.array([[[1.0, np.inf, np.nan]]])
    e = F.interpolate(ember.tensor(x), scale_factor=2).numpy()
    t = TF.interpolate(torch.tensor(x), scale_factor=2).numpy()
    np.testing.assert_array_equal(e, t)


BAD = [
    ((2, 3, 4, 4), dict(size=3, scale_factor=2)),
    ((2, 3, 4, 4), dict()),
    ((2, 3, 4, 4), dict(size=(3,))),
    ((2, 3, 4, 4), dict(scale_factor=(2, 2, 2))),
    ((2, 3, 4, 4), dict(size=3, mode="nearest", align_corners=True)),
    ((2, 3, 4), dict(size=3, mode="bilinear")),
    ((2, 3, 4, 4), dict(size=3, mode="trilinear")),
    ((2, 3, 4, 4), dict(size=3, mode="cubic")),
    ((2, 3, 4, 4), dict(size=3, recompute_scale_factor=True)),
    ((4, 4), dict(size=3)),
]


@pytest.mark.parametrize("shape, kwargs", BAD)
def test_interpolate_errors_match_torch(shape, kwargs):
    with pytest.raises(Exception) as t_info:
        TF.interpolate(torch.zeros(shape), **kwargs)
    with pytest.raises(t_info.type):
        F.interpolate(ember.zeros(shape), **kwargs)


def test_size_error_message():
    with pytest.raises(ValueError, match=r"spatial dimensions of \[4, 4\]"):
        F.interpolate(ember.zeros(1, 1, 4, 4), size=(3,))


MODULES = [
    ("Upsample", dict(scale_factor=2), (2, 3, 4, 5)),
    ("Upsample", dict(size=(3, 7), mode="bilinear"), (2, 3, 4, 5)),
    ("Upsample", dict(scale_factor=(2, 3), mode="bicubic", align_corners=True), (1, 2, 4, 5)),
    ("Upsample", dict(scale_factor=1.5, mode="linear"), (2, 3, 5)),
    ("UpsamplingNearest2d", dict(scale_factor=3), (2, 3, 4, 5)),
    ("UpsamplingBilinear2d", dict(size=(7, 3)), (2, 3, 4, 5)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, kwargs, shape", MODULES)
def test_upsample_modules(dtype, name, kwargs, shape):
    tmod, emod = getattr(torch.nn, name)(**kwargs), getattr(ember.nn, name)(**kwargs)
    assert repr(emod) == repr(tmod)
    x = np.random.default_rng(2).standard_normal(shape)
    compare_modules(tmod, emod, [x], dtype, atol=2e-6 if dtype == "float32" else None)


def test_deprecated_aliases():
    """Both libraries warn that the aliases are deprecated, and compute the same."""
    x = np.random.default_rng(3).standard_normal((1, 2, 3, 4))
    pairs = [
        (TF.upsample_nearest, F.upsample_nearest, dict(scale_factor=2)),
        (TF.upsample_bilinear, F.upsample_bilinear, dict(size=(5, 6))),
        (TF.upsample, F.upsample, dict(size=(5, 6), mode="bilinear")),
    ]
    for t_fn, e_fn, kw in pairs:
        with pytest.warns(UserWarning, match="deprecated"):
            t = t_fn(torch.tensor(x), **kw).numpy()
        with pytest.warns(UserWarning, match="deprecated"):
            e = e_fn(ember.tensor(x), **kw).numpy()
        np.testing.assert_allclose(e, t, 1e-12)
