"""AdaptiveMaxPool1d/2d with return_indices, and MaxUnpool1d/2d fed by those indices."""

import numpy as np
import pytest
import torch

import ember
from tests.nn.helpers import check_gradcheck, compare_functions, compare_modules

rng = np.random.default_rng(0)

CASES_2D = [
    ((2, 3, 8, 6), 4),
    ((2, 3, 7, 5), (3, 2)),
    ((1, 2, 5, 9), (None, 4)),
    ((3, 7, 7), (5, 3)),  # unbatched
    ((1, 1, 3, 3), (5, 4)),  # more outputs than inputs: overlapping windows
]


def both(name, *args, **kwargs):
    return getattr(torch.nn, name)(*args, **kwargs), getattr(ember.nn, name)(*args, **kwargs)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,size", CASES_2D)
def test_adaptive_max_pool2d_with_indices(dtype, shape, size):
    t, e = both("AdaptiveMaxPool2d", size, return_indices=True)
    compare_modules(t, e, [rng.standard_normal(shape)], dtype)
    x = rng.standard_normal(shape).astype(dtype)
    ti, ei = t(torch.tensor(x))[1], e(ember.tensor(x))[1]
    assert ei.dtype == ember.int64
    np.testing.assert_array_equal(ei.numpy(), ti.numpy())
    assert repr(t) == repr(e)


@pytest.mark.parametrize(
    "shape,size", [((2, 3, 10), 4), ((2, 3, 7), 3), ((4, 9), 9), ((1, 2, 3), 7)]
)
def test_adaptive_max_pool1d_with_indices(shape, size):
    t, e = both("AdaptiveMaxPool1d", size, return_indices=True)
    compare_modules(t, e, [rng.standard_normal(shape)])
    t, e = both("AdaptiveMaxPool1d", size)
    compare_modules(t, e, [rng.standard_normal(shape)])


def test_first_maximum_wins_on_ties():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 1, 1] = x[0, 0, 0, 1] = 1.0
    compare_functions(
        lambda x: torch.nn.functional.adaptive_max_pool2d(x, 2, True),
        lambda x: ember.nn.functional.adaptive_max_pool2d(x, 2, True),
        [x],
    )


@pytest.mark.parametrize("shape,size", [((2, 3, 7, 5), (3, 2)), ((2, 3, 8, 8), 4)])
def test_max_unpool2d_with_adaptive_indices(shape, size):
    def run(lib, x, y):
        out, idx = lib.nn.functional.adaptive_max_pool2d(x, size, return_indices=True)
        return (
            lib.nn.MaxUnpool2d(2)(out * y, idx, output_size=shape)
            if shape[-1] == 8
            else (lib.nn.functional.max_unpool2d(out * y, idx, (3, 3), 2, output_size=shape[-2:]))
        )

    out_shape = tuple(ember.nn.functional.adaptive_max_pool2d(ember.zeros(shape), size).shape)
    compare_functions(
        lambda x, y: run(torch, x, y),
        lambda x, y: run(ember, x, y),
        [rng.standard_normal(shape), rng.standard_normal(out_shape)],
    )


def test_max_unpool1d_with_max_pool1d_and_adaptive_indices():
    def run(lib, x):
        F = lib.nn.functional
        out, idx = F.max_pool1d(x, 3, 2, padding=1, return_indices=True)
        a = lib.nn.MaxUnpool1d(3, 2, 1)(out, idx, output_size=x.shape)
        out, idx = F.adaptive_max_pool1d(x, 4, return_indices=True)
        return a, F.max_unpool1d(out, idx, 3, output_size=(x.shape[-1],))

    compare_functions(
        lambda x: run(torch, x), lambda x: run(ember, x), [rng.standard_normal((2, 3, 11))]
    )
    assert repr(torch.nn.MaxUnpool1d(3, 1)) == repr(ember.nn.MaxUnpool1d(3, 1))
    assert repr(torch.nn.MaxUnpool2d(2)) == repr(ember.nn.MaxUnpool2d(2))


def test_gradcheck_and_double_backward():
    F = ember.nn.functional
    check_gradcheck(
        lambda x: F.adaptive_max_pool2d(x, (3, 2)),
        [rng.standard_normal((1, 2, 5, 5))],
        second_order=True,
    )
    check_gradcheck(
        lambda x: F.adaptive_max_pool1d(x, 3), [rng.standard_normal((2, 7))], second_order=True
    )

    def unpool(x):
        out, idx = F.adaptive_max_pool2d(x, 2, return_indices=True)
        return F.max_unpool2d(out * out, idx, 2, output_size=(4, 4))

    check_gradcheck(unpool, [rng.standard_normal((1, 2, 4, 4))], second_order=True)


def amp2(shape, size, dt="float64"):
    return lambda F, t: F.adaptive_max_pool2d(t(np.zeros(shape, dt)), size)


def unpool(shape, idx_shape, fill=0, **kw):
    return lambda F, t: F.max_unpool2d(
        t(np.zeros(shape)), t(np.full(idx_shape, fill, np.int64)), 2, **kw
    )


BAD = [
    (amp2((3, 4), 2), RuntimeError, r"3D or 4D.*\[3, 4\]"),
    (lambda F, t: F.adaptive_max_pool1d(t(np.zeros(3)), 2), RuntimeError, "2D or 3D"),
    (amp2((1, 3, 0, 4), 2), RuntimeError, "non-zero size"),
    (amp2((1, 3, 4, 4), (2, 3, 4)), RuntimeError, "output_size"),
    (amp2((1, 3, 4, 4), 2, np.int64), NotImplementedError, "not implemented"),
    (unpool((1, 3, 4, 4), (1, 3, 4, 4), output_size=(3, 3)), ValueError, "between 7 and 9"),
    (unpool((1, 3, 4, 4), (1, 3, 4, 4), 100), RuntimeError, "invalid max index: 100"),
    (
        unpool((1, 3, 4, 4), (1, 3, 4, 3)),
        RuntimeError,
        r"indices tensor with shape: \[1, 3, 4, 3\]",
    ),
]


@pytest.mark.parametrize("fn,error,match", BAD)
def test_bad_input(fn, error, match):
    with pytest.raises(error):
        fn(torch.nn.functional, lambda a: torch.tensor(a))
    with pytest.raises(error, match=match):
        fn(ember.nn.functional, lambda a: ember.tensor(a))


def test_zero_output_size_gives_an_empty_result():
    x = rng.standard_normal((3, 4))
    t = torch.nn.functional.adaptive_max_pool1d(torch.tensor(x), 0, return_indices=True)
    e = ember.nn.functional.adaptive_max_pool1d(ember.tensor(x), 0, return_indices=True)
    assert [tuple(a.shape) for a in e] == [tuple(a.shape) for a in t] == [(3, 0), (3, 0)]
