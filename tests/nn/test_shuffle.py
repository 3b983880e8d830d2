"""PixelShuffle, PixelUnshuffle and ChannelShuffle (modules and functionals) against torch."""

import numpy as np
import pytest
import torch

import ember
from tests.nn.helpers import check_gradcheck, compare_functions, compare_modules

DTYPES = ["float32", "float64"]

MODULES = [
    ("PixelShuffle", 2, (2, 8, 3, 4)),
    ("PixelShuffle", 3, (9, 2, 2)),
    ("PixelShuffle", 2, (2, 1, 4, 2, 3)),
    ("PixelUnshuffle", 2, (2, 3, 4, 6)),
    ("PixelUnshuffle", 3, (1, 6, 3)),
    ("ChannelShuffle", 2, (2, 6, 3, 4)),
    ("ChannelShuffle", 3, (2, 6, 5)),
    ("ChannelShuffle", 2, (1, 4, 2, 2, 3)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, factor, shape", MODULES)
def test_shuffle_modules(dtype, name, factor, shape):
    tmod, emod = getattr(torch.nn, name)(factor), getattr(ember.nn, name)(factor)
    assert repr(emod) == repr(tmod)
    x = np.random.default_rng(0).standard_normal(shape)
    compare_modules(tmod, emod, [x], dtype)


@pytest.mark.parametrize("name", ["pixel_shuffle", "pixel_unshuffle", "channel_shuffle"])
def test_shuffle_functionals(name):
    x = np.random.default_rng(1).standard_normal((2, 4, 2, 4))
    compare_functions(
        lambda t: getattr(torch.nn.functional, name)(t, 2),
        lambda e: getattr(ember.nn.functional, name)(e, 2),
        [x],
    )
    check_gradcheck(lambda e: getattr(ember.nn.functional, name)(e, 2), [x])


def test_channel_shuffle_top_level():
    x = np.arange(24.0).reshape(1, 6, 2, 2)
    np.testing.assert_array_equal(
        ember.channel_shuffle(ember.tensor(x), 3).numpy(),
        torch.channel_shuffle(torch.tensor(x), 3).numpy(),
    )


BAD = [
    ("pixel_shuffle", (1, 5, 2, 2), 2),
    ("pixel_shuffle", (5, 2), 2),
    ("pixel_shuffle", (1, 4, 2, 2), 0),
    ("pixel_unshuffle", (1, 5, 3, 2), 2),
    ("pixel_unshuffle", (1, 5, 2, 3), 2),
    ("pixel_unshuffle", (2, 2), 2),
    ("channel_shuffle", (1, 5, 2, 2), 2),
    ("channel_shuffle", (1, 4, 2, 2), 0),
    ("channel_shuffle", (4, 2), 2),
]


@pytest.mark.parametrize("name, shape, factor", BAD)
def test_shuffle_errors_match_torch(name, shape, factor):
    with pytest.raises(Exception) as t_info:
        getattr(torch.nn.functional, name)(torch.zeros(shape), factor)
    with pytest.raises(t_info.type) as e_info:
        getattr(ember.nn.functional, name)(ember.zeros(shape), factor)
    assert name in str(e_info.value) or "channels" in str(e_info.value)
