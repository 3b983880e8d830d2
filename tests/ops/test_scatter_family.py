"""slice_scatter, select_scatter, diagonal_scatter, as_strided_scatter, index_put(_), put(_)
and index_reduce(_) against PyTorch: values, gradients (also by gradcheck), in-place forms and
errors."""

import numpy as np
import pytest
import torch

import ember
from tests.ops.optable import Row, cases, check_row
from tests.ops.samples import distinct, ints, r, reseed

reseed(34)
pytestmark = pytest.mark.filterwarnings("ignore:index_reduce:UserWarning")  # torch: "in beta"

U = dict(double_backward=True)
ROWS_INDEX = np.array([2, 0, -2])  # no repeats: a repeated write keeps one value
FLAT = np.array([[0, 11], [-2, 5]])
DUP = np.array([0, 2, 0, 1])

SCATTERS = [
    Row("slice_scatter", lambda lib, x, s: (lib.slice_scatter(x, s, 1, 0, 4, 2),
                                            x.slice_scatter(s[:, :1], 1, -1)),
        [(r(3, 4), r(3, 2))], **U),
    Row("slice_scatter_rows", lambda lib, x, s: lib.slice_scatter(x, s, start=2, end=3),
        [(r(3, 4), r(1, 4))], **U),
    Row("slice_scatter_dtype", lambda lib, x, s: lib.slice_scatter(x, s.double(), 0, 1),
        [(r(3, 4), r(2, 4))], dtypes=("float32",)),
    Row("select_scatter", lambda lib, x, s: (lib.select_scatter(x, s, 0, -1),
                                             x.select_scatter(s[:3], 1, 2)),
        [(r(3, 4), r(4))], **U),
    Row("diagonal_scatter", lambda lib, x, s: (lib.diagonal_scatter(x, s),
                                               x.diagonal_scatter(s[:2], 2),
                                               lib.diagonal_scatter(x, s, -1, 1, 0)),
        [(r(3, 4), r(3))], **U),
    Row("diagonal_scatter_3d", lambda lib, x, s: lib.diagonal_scatter(x, s, 0, 0, 2),
        [(r(3, 2, 3), r(2, 3))], **U),
    # torch's gradient for ``input`` is wrong (it keeps the written positions and drops the
    # others); ember's is checked against finite differences in test_as_strided_scatter_grad.
    Row("as_strided_scatter", lambda lib, x, s: (lib.as_strided_scatter(x, s, (2, 2), (1, 2)),
                                                 x.as_strided_scatter(s, (2, 2), (4, 1), 5)),
        [(r(3, 4), r(2, 2))], grad=False),
    Row("as_strided_scatter_src", lambda lib, x, s: lib.as_strided_scatter(x, s, (2, 2), (4, 1)),
        [(r(3, 4), r(2, 2))], nondiff_args=(0,), **U),
    Row("index_put", lambda lib, x, v, i: (lib.index_put(x, (i,), v),
                                           x.index_put((i, i), v[0, :3])),
        [(r(3, 4), r(3, 4), ROWS_INDEX)], **U),
    Row("index_put_accumulate", lambda lib, x, v, i: (
        lib.index_put(x, (i,), v, accumulate=True),
        x.index_put((i, i), v[0], accumulate=True),
        lib.index_put(x, (i,), v[0, 0], accumulate=True)),
        [(r(3, 4), r(4, 4), DUP)], **U),
    Row("index_put_mask", lambda lib, x, m, v: lib.index_put(x, (m,), v),
        [(r(3, 4), np.random.default_rng(3).random((3, 4)) < 0.5, r())], **U),
    Row("index_put_", lambda lib, x, v, i: (x * 1).index_put_((i,), v, accumulate=True),
        [(r(3, 4), r(4, 4), DUP)], **U),
    Row("put", lambda lib, x, i, s: (lib.put(x, i, s), x.put(i, s, accumulate=True)),
        [(r(3, 4), FLAT, r(2, 2))], **U),
    Row("put_", lambda lib, x, i, s: (x * 1).put_(i, s), [(r(3, 4), FLAT, r(4))], **U),
    Row("put_int", lambda lib, x, i, s: (lib.put(x, i, s), x.put(i, s, accumulate=True)),
        [(ints(3, 4), FLAT, ints(2, 2))], dtypes=(None,), grad=False),
]  # fmt: skip

REDUCE = [
    Row(f"index_reduce_{reduce}_{'self' if include else 'noself'}",
        lambda lib, x, i, s, reduce=reduce, include=include: (
            lib.index_reduce(x, 0, i, s, reduce, include_self=include),
            x.index_reduce(1, i[:3], s[:3, :3], reduce, include_self=include)),
        [(distinct(3, 4), DUP, distinct(4, 4) + 0.5)], **U)
    for reduce in ("prod", "mean", "amax", "amin")
    for include in (True, False)
] + [
    Row("index_reduce_", lambda lib, x, i, s: (x * 1).index_reduce_(0, i, s, "amax"),
        [(distinct(3, 4), DUP, distinct(4, 4))], **U),
    # Non-negative integers: scatter_reduce's integer mean rounds towards 0, torch's down.
    Row("index_reduce_int", lambda lib, x, i, s: lib.index_reduce(x, 0, i, s, "mean"),
        [(ints(3, 4, low=0), DUP, ints(4, 4, low=0))], dtypes=(None,), grad=False),
]  # fmt: skip


@pytest.mark.parametrize("row,sample", cases(SCATTERS + REDUCE))
def test_row(row, sample):
    check_row(row, sample)


@pytest.mark.parametrize("size,stride,offset", [((2, 2), (1, 2), None), ((2, 2), (4, 1), 5)])
def test_as_strided_scatter_grad(size, stride, offset):
    x = ember.tensor(r(3, 4), requires_grad=True)
    s = ember.tensor(r(2, 2), requires_grad=True)
    assert ember.autograd.gradcheck(
        lambda a, b: ember.as_strided_scatter(a, b, size, stride, offset), (x, s)
    )


def test_in_place_forms_write_into_self():
    for lib in (torch, ember):
        x = lib.zeros(3, 4)
        assert x.index_put_((lib.tensor([0, 2]),), lib.tensor(1.0)) is x
        assert x.put_(lib.tensor([1]), lib.tensor([5.0]), accumulate=True) is x
        assert x.index_reduce_(0, lib.tensor([1]), lib.ones(1, 4) * 3, "amax") is x
        if lib is torch:
            expected = x.numpy().copy()
    np.testing.assert_array_equal(x.numpy(), expected)


def test_results_are_new_tensors():
    x = ember.zeros(3, 4)
    y = ember.slice_scatter(x, ember.ones(3, 2), 1, 0, 2)
    z = ember.index_put(x, (ember.tensor([0]),), ember.tensor(1.0))
    assert float(x.abs().sum()) == 0.0 and float(y.sum()) == 6.0 and float(z.sum()) == 4.0


def raises_like_torch(fn, match):
    with pytest.raises(Exception) as expected:
        fn(torch)
    with pytest.raises(expected.type, match=match):
        fn(ember)


@pytest.mark.parametrize(
    "fn,match",
    [
        (lambda lib: lib.slice_scatter(lib.zeros(3, 4), lib.ones(3, 3), 1, 0, 2), "src"),
        (lambda lib: lib.select_scatter(lib.zeros(3, 4), lib.ones(3), 1, 5), "out of range"),
        (lambda lib: lib.diagonal_scatter(lib.zeros(3, 4), lib.ones(2)), "src"),
        (lambda lib: lib.as_strided_scatter(lib.zeros(3, 4), lib.ones(3, 3), (3, 3), (4, 2)), None),
        (
            lambda lib: lib.zeros(3, 4).index_put((lib.tensor([0, 0]),), lib.ones(3)),
            "shape mismatch",
        ),
        (
            lambda lib: lib.zeros(3, 4).index_put((lib.tensor([0]),), lib.ones(4).double()),
            "dtypes match",
        ),
        (lambda lib: lib.zeros(3, 4).index_put((lib.tensor([5]),), lib.ones(4)), "out of bounds"),
        (lambda lib: lib.zeros(3, 4).index_put((lib.tensor([0.0]),), lib.ones(4)), "indices"),
        (lambda lib: lib.zeros(3, 4).put(lib.tensor([20]), lib.tensor([1.0])), "out of range"),
        (
            lambda lib: lib.zeros(3, 4).put(lib.tensor([1, 2]), lib.tensor([1.0])),
            "same number of elements",
        ),
        (
            lambda lib: lib.zeros(3, 4).put(lib.tensor([1]), lib.tensor([1.0]).double()),
            "same dtype",
        ),
        (
            lambda lib: lib.zeros(3, 4).index_reduce(0, lib.tensor([0]), lib.ones(1, 4), "sum"),
            "reduce",
        ),
        (
            lambda lib: lib.zeros(3, 4).index_reduce(0, lib.tensor([0, 5]), lib.ones(2, 4), "prod"),
            "index out of range",
        ),
        (
            lambda lib: lib.zeros(3, 4).index_reduce(0, lib.tensor([0, 1]), lib.ones(3, 4), "prod"),
            "Number of indices",
        ),
    ],
)
def test_errors(fn, match):
    raises_like_torch(fn, match)
