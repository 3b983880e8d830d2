"""Conv3d and ConvTranspose3d against torch with identical weights; gradcheck; bad input."""

import numpy as np
import pytest
import torch

import ember
from tests.nn.helpers import check_gradcheck, compare_modules

rng = np.random.default_rng(0)

CONV_CASES = [
    ((2, 3, 5, 6, 7), (3, 4, 3), {}),
    ((2, 4, 5, 6, 7), (4, 6, 3), {"stride": (1, 2, 2), "padding": 1, "groups": 2}),
    ((1, 2, 7, 7, 6), (2, 3, (3, 2, 2)), {"dilation": (2, 1, 2), "padding": (2, 0, 1)}),
    ((1, 2, 5, 5, 5), (2, 3, (2, 3, 4)), {"padding": "same", "bias": False}),
    ((2, 4, 4, 4, 4), (4, 4, 3), {"groups": 4, "padding": "valid"}),  # depthwise
    ((3, 5, 6, 4), (3, 2, 2), {"stride": 2}),  # unbatched
    ((1, 2, 4, 5, 6), (2, 3, 3), {"padding": 1, "padding_mode": "reflect"}),
    ((1, 2, 4, 5, 6), (2, 3, 3), {"padding": (1, 2, 1), "padding_mode": "circular"}),
    ((1, 2, 4, 5, 6), (2, 3, 3), {"padding": 2, "padding_mode": "replicate"}),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,args,kw", CONV_CASES)
def test_conv3d(dtype, shape, args, kw):
    t, e = torch.nn.Conv3d(*args, **kw), ember.nn.Conv3d(*args, **kw)
    rtol, atol = (1e-4, 1e-5) if dtype == "float32" else (None, None)
    compare_modules(t, e, [rng.standard_normal(shape)], dtype, rtol=rtol, atol=atol)
    assert repr(t) == repr(e)


TRANSPOSE_CASES = [
    ((2, 3, 3, 4, 5), (3, 4, 3), {}),
    ((2, 4, 3, 3, 4), (4, 6, 3), {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}),
    ((1, 2, 3, 4, 3), (2, 3, (2, 3, 2)), {"stride": (2, 1, 3), "dilation": (1, 2, 1)}),
    ((2, 3, 4, 3), (2, 2, 2), {"bias": False}),  # unbatched
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,args,kw", TRANSPOSE_CASES)
def test_conv_transpose3d(dtype, shape, args, kw):
    t, e = torch.nn.ConvTranspose3d(*args, **kw), ember.nn.ConvTranspose3d(*args, **kw)
    rtol, atol = (1e-4, 1e-5) if dtype == "float32" else (None, None)
    compare_modules(t, e, [rng.standard_normal(shape)], dtype, rtol=rtol, atol=atol)
    assert repr(t) == repr(e)


def test_conv_transpose3d_output_size():
    t, e = torch.nn.ConvTranspose3d(2, 3, 3, stride=2), ember.nn.ConvTranspose3d(2, 3, 3, stride=2)
    size = (1, 3, 8, 7, 8)
    compare_modules(
        t, e, [rng.standard_normal((1, 2, 3, 3, 3))], call=lambda m, x: m(x, output_size=size)
    )


def test_gradcheck_and_double_backward():
    F = ember.nn.functional
    x, w, b = rng.standard_normal((1, 2, 3, 4, 3)), rng.standard_normal((4, 1, 2, 2, 2)), None
    check_gradcheck(
        lambda x, w: F.conv3d(x, w, b, stride=(1, 2, 1), padding=1, groups=2), [x, w],
        second_order=True,
    )  # fmt: skip
    wt = rng.standard_normal((2, 2, 2, 1, 2))
    check_gradcheck(
        lambda x, w, b: F.conv_transpose3d(x, w, b, stride=2, output_padding=1),
        [x, wt, rng.standard_normal(2)],
        second_order=True,
    )


def conv(x, w, dt="float32", **kw):
    return lambda F, t: F.conv3d(t(x), t(w, dt), **kw)


def convt(x, w, **kw):
    return lambda F, t: F.conv_transpose3d(t(x), t(w), **kw)


BAD = [
    (conv((1, 3, 4, 4, 4), (2, 2, 3, 3, 3)), r"expected input\[1, 3, 4, 4, 4\] to have 2 channels"),
    (conv((3, 4, 4), (2, 3, 3, 3, 3)), r"4D \(unbatched\) or 5D .*\[3, 4, 4\]"),
    (conv((1, 3, 2, 4, 4), (2, 3, 3, 3, 3)), r"\(2 x 4 x 4\).*\(3 x 3 x 3\)"),
    (conv((1, 3, 4, 4, 4), (2, 3, 3, 3, 3), "float64"), "should be the same"),
    (conv((1, 3, 4, 4, 4), (2, 3, 3, 3, 3), stride=2, padding="same"), "strided"),
    (convt((1, 3, 4, 4, 4), (2, 3, 3, 3, 3)), "to have 2 channels"),
    (convt((1, 2, 4, 4, 4), (2, 3, 3, 3, 3), output_padding=1), "output padding must be smaller"),
]


@pytest.mark.parametrize("fn,match", BAD)
def test_bad_input(fn, match):
    def maker(lib):
        return lambda shape, dt="float32": lib.tensor(np.zeros(shape, dt))

    with pytest.raises(RuntimeError):
        fn(torch.nn.functional, maker(torch))
    with pytest.raises(RuntimeError, match=match):
        fn(ember.nn.functional, maker(ember))


def test_module_rejects_wrong_channels():
    with pytest.raises(RuntimeError, match="to have 2 channels, but got 3"):
        ember.nn.Conv3d(2, 4, 3)(ember.zeros(1, 3, 5, 5, 5))
