"""Convolution, pooling and padding layers against torch with identical weights."""

import numpy as np
import pytest
import torch

import ember
from tests.nn.helpers import compare_modules

rng = np.random.default_rng(0)


def both(name, *args, **kwargs):
    return getattr(torch.nn, name)(*args, **kwargs), getattr(ember.nn, name)(*args, **kwargs)


CONVS = [
    ("Conv2d", (3, 8, 3), {}, (2, 3, 7, 6)),
    ("Conv2d", (4, 6, (3, 2)), dict(stride=2, padding=1, dilation=2, groups=2), (2, 4, 9, 8)),
    ("Conv2d", (3, 3, 3), dict(groups=3, padding="same", bias=False), (1, 3, 6, 5)),
    ("Conv2d", (2, 4, 3), dict(padding=1, padding_mode="reflect"), (2, 2, 5, 5)),
    ("Conv2d", (2, 4, 3), dict(padding=2, padding_mode="circular"), (2, 2, 5, 5)),
    ("Conv2d", (2, 4, 3), dict(padding=1, padding_mode="replicate"), (2, 2, 5, 5)),
    ("Conv1d", (3, 5, 3), dict(stride=2, padding=1), (2, 3, 11)),
    ("Conv1d", (2, 2, 4), dict(padding="same", dilation=2), (2, 2, 9)),
    ("ConvTranspose2d", (3, 4, 3), dict(stride=2, padding=1, output_padding=1), (2, 3, 4, 5)),
    ("ConvTranspose1d", (3, 2, 4), dict(stride=3), (2, 3, 5)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "name,args,kwargs,shape", CONVS, ids=[f"{c[0]}-{i}" for i, c in enumerate(CONVS)]
)
def test_convolution(name, args, kwargs, shape, dtype):
    t, e = both(name, *args, **kwargs)
    tol = 1e-4 if dtype == "float32" else 1e-9
    compare_modules(t, e, [rng.standard_normal(shape)], dtype, rtol=tol, atol=tol)
    assert repr(t) == repr(e)


POOLS = [
    ("MaxPool2d", (3,), {}),
    ("MaxPool2d", (3, 2, 1), dict(ceil_mode=True)),
    ("MaxPool2d", (2,), dict(stride=1, dilation=2)),
    ("AvgPool2d", (3, 2, 1), {}),
    ("AvgPool2d", (3, 2, 1), dict(ceil_mode=True, count_include_pad=False)),
    ("AvgPool2d", (2,), dict(divisor_override=3)),
    ("AdaptiveAvgPool2d", ((3, 4),), {}),
    ("AdaptiveAvgPool2d", (1,), {}),
    ("AdaptiveMaxPool2d", ((2, 3),), {}),
    ("ReflectionPad2d", ((1, 2, 0, 3),), {}),
    ("ReplicationPad2d", (2,), {}),
    ("ZeroPad2d", ((1, 0, 2, 1),), {}),
    ("CircularPad2d", (1,), {}),
    ("ConstantPad2d", (2, -1.5), {}),
]


@pytest.mark.parametrize(
    "name,args,kwargs", POOLS, ids=[f"{p[0]}-{i}" for i, p in enumerate(POOLS)]
)
def test_pooling_and_padding(name, args, kwargs):
    t, e = both(name, *args, **kwargs)
    compare_modules(t, e, [rng.standard_normal((2, 3, 9, 8))])
    assert repr(t) == repr(e)


def test_pool1d():
    for name, args in (
        ("MaxPool1d", (3, 2)),
        ("AvgPool1d", (3, 2, 1)),
        ("AdaptiveAvgPool1d", (4,)),
    ):
        t, e = both(name, *args)
        compare_modules(t, e, [rng.standard_normal((2, 3, 11))])


def test_max_pool_indices_and_unpool():
    x = rng.standard_normal((2, 3, 8, 8))
    t_out, t_idx = torch.nn.functional.max_pool2d(torch.tensor(x), 2, return_indices=True)
    e_out, e_idx = ember.nn.functional.max_pool2d(ember.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(e_idx.numpy(), t_idx.numpy())
    np.testing.assert_array_equal(
        ember.nn.functional.max_unpool2d(e_out, e_idx, 2).numpy(),
        torch.nn.functional.max_unpool2d(t_out, t_idx, 2).numpy(),
    )


def test_unfold_fold():
    x = rng.standard_normal((2, 3, 6, 5))
    tu = torch.nn.functional.unfold(torch.tensor(x), (2, 3), padding=1, stride=2)
    eu = ember.nn.functional.unfold(ember.tensor(x), (2, 3), padding=1, stride=2)
    np.testing.assert_allclose(eu.numpy(), tu.numpy())
    tf = torch.nn.functional.fold(tu, (6, 5), (2, 3), padding=1, stride=2)
    ef = ember.nn.functional.fold(eu, (6, 5), (2, 3), padding=1, stride=2)
    np.testing.assert_allclose(ef.numpy(), tf.numpy())


def test_conv_errors_name_the_shapes():
    conv = ember.nn.Conv2d(3, 4, 3)
    with pytest.raises(RuntimeError, match="expected input.*to have 3 channels, but got 2"):
        conv(ember.zeros(1, 2, 5, 5))
    with pytest.raises(RuntimeError, match="Kernel size can't be greater"):
        conv(ember.zeros(1, 3, 2, 2))


CHUNKED = [
    ((3, 8, 3), dict(padding=1), (5, 3, 7, 6)),
    ((4, 6, (3, 2)), dict(stride=2, padding=1, dilation=2, groups=2), (3, 4, 9, 8)),
    ((4, 6, 1), dict(stride=2), (3, 4, 7, 7)),
    ((4, 6, 1), {}, (3, 4, 5, 5)),
]


@pytest.mark.parametrize("args,kwargs,shape", CHUNKED)
def test_conv2d_in_batch_chunks(monkeypatch, args, kwargs, shape):
    """Force the column matrix to be formed one image at a time (as large inputs are)."""
    from ember.backends.numpy import conv

    monkeypatch.setattr(conv, "_CHUNK_ELEMS", 1)
    monkeypatch.setattr(conv, "_CHUNK_ROWS", 1)
    t, e = both("Conv2d", *args, **kwargs)
    compare_modules(t, e, [rng.standard_normal(shape)], "float64", rtol=1e-9, atol=1e-9)
