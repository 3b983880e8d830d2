"""AdaptiveAvgPool1d/2d against torch on uneven, overlapping and exactly tiling windows."""

import numpy as np
import pytest
import torch

import ember
from tests.nn.helpers import check_gradcheck, compare_modules

rng = np.random.default_rng(0)

CASES = [
    ((2, 3, 8, 6), 4),
    ((2, 3, 7, 5), (3, 2)),
    ((1, 2, 5, 9), (None, 4)),
    ((3, 7, 7), (5, 3)),
    ((1, 1, 3, 3), (5, 4)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,size", CASES)
def test_adaptive_avg_pool2d(dtype, shape, size):
    t, e = torch.nn.AdaptiveAvgPool2d(size), ember.nn.AdaptiveAvgPool2d(size)
    compare_modules(t, e, [rng.standard_normal(shape)], dtype)
    assert repr(t) == repr(e)


@pytest.mark.parametrize("shape,size", [((2, 3, 10), 4), ((4, 9), 9), ((1, 2, 3), 7)])
def test_adaptive_avg_pool1d(shape, size):
    t, e = torch.nn.AdaptiveAvgPool1d(size), ember.nn.AdaptiveAvgPool1d(size)
    compare_modules(t, e, [rng.standard_normal(shape)])


def test_gradcheck_and_double_backward():
    fn = lambda x: ember.nn.functional.adaptive_avg_pool2d(x, (3, 2)) ** 2  # noqa: E731
    check_gradcheck(fn, [rng.standard_normal((1, 2, 5, 5))], second_order=True)


def test_bad_input():
    with pytest.raises(RuntimeError, match=r"3D or 4D.*\[3, 4\]"):
        ember.nn.functional.adaptive_avg_pool2d(ember.zeros(3, 4), 2)
    with pytest.raises(RuntimeError):
        torch.nn.functional.adaptive_avg_pool2d(torch.zeros(3, 4), 2)
    with pytest.raises(RuntimeError, match="non-zero size"):
        ember.nn.functional.adaptive_avg_pool1d(ember.zeros(2, 0), 2)
