"""Op table: reductions with dim (int or tuple) and keepdim, scans, statistics."""

import numpy as np
import pytest

from tests.ops.optable import Row, cases, check_row
from tests.ops.samples import bools, distinct, ints, nc, pos, r, reseed

reseed(2)

U = dict(double_backward=True)
# 2-d, 3-d, transposed, 0-d: the shapes every reduction sees.
FLOATS = [(r(3, 4),), (r(2, 3, 4),), (nc(3, 4),), (r(),)]
DISTINCT = [(distinct(3, 4),), (distinct(2, 3, 4),), (nc(3, 4, gen=distinct),)]


def over(fn):
    """One row body that runs a reduction over all dims, one dim, the last dim with keepdim,
    and a tuple of dims (where the sample has them)."""

    def body(lib, a):
        outs = [fn(lib, a, None, False)]
        if a.dim() >= 1:
            outs += [fn(lib, a, 0, False), fn(lib, a, -1, True)]
        if a.dim() >= 2:
            outs.append(fn(lib, a, (0, -1), False))
        return tuple(outs)

    return body


def _all(fn):
    return lambda lib, a, dim, keepdim: (
        fn(lib, a) if dim is None else fn(lib, a, dim=dim, keepdim=keepdim)
    )


ROWS = [
    Row("sum", over(_all(lambda lib, a, **k: lib.sum(a, **k))), FLOATS, **U),
    Row("sum_method", lambda lib, a: (a.sum(), a.sum(1), a.sum((0, 1), keepdim=True)),
        [(r(3, 4),)], **U),
    Row("sum_empty", lambda lib, a: (a.sum(), a.sum(0), a.sum(1), a.mean(0), a.prod(1)),
        [(r(0, 3),)], **U),
    Row("sum_dtype", lambda lib, a: (a.sum(), a.sum(0), a.prod(), a.cumsum(0), a.cumprod(0)),
        [(ints(3, 4, dtype=np.int32),), (bools(3, 4),), (ints(2, 3, dtype=np.uint8, low=0),)],
        dtypes=(None,), grad=False),
    Row("sum_to_dtype", lambda lib, a: (lib.sum(a, dtype=lib.float64),
                                        lib.sum(a, 0, dtype=lib.float32)),
        [(ints(3, 4),)], dtypes=(None,), grad=False),
    Row("mean", over(_all(lambda lib, a, **k: lib.mean(a, **k))), FLOATS, **U),
    Row("prod", over(lambda lib, a, dim, keepdim: lib.prod(a) if dim is None or isinstance(
        dim, tuple) else lib.prod(a, dim, keepdim=keepdim)), FLOATS, **U),
    Row("prod_with_zero", lambda lib, a: (a.prod(), a.prod(0), a.prod(1)),
        [(np.array([[0.5, 0.0, 2.0], [1.5, -1.0, 3.0]]),),
         (np.array([[0.0, 0.0, 2.0], [1.5, -1.0, 3.0]]),)], **U),
    Row("max_all", lambda lib, a: (lib.max(a), lib.min(a)), DISTINCT + [(r(),)], **U),
    Row("max_dim", lambda lib, a: (lib.max(a, 0), lib.max(a, -1, keepdim=True),
                                   lib.min(a, 1), a.max(dim=1)), DISTINCT, **U),
    Row("max_binary", lambda lib, a, b: (lib.max(a, b), lib.min(a, b)), [(r(3, 4), r(4))], **U),
    Row("max_ties", lambda lib, a: (lib.max(a), lib.amax(a, 1), lib.amin(a, 0)),
        [(np.array([[1.0, 3.0, 3.0], [3.0, 0.0, 0.0]]),)], gradcheck=False, **U),  # a kink
    Row("amax_amin", over(lambda lib, a, dim, keepdim: (
        (lib.amax(a), lib.amin(a)) if dim is None else
        (lib.amax(a, dim, keepdim), lib.amin(a, dim=dim, keepdim=keepdim)))),
        DISTINCT + [(r(),)], **U),
    Row("argmax_argmin", over(lambda lib, a, dim, keepdim: (
        (lib.argmax(a), lib.argmin(a)) if dim is None or isinstance(dim, tuple) else
        (lib.argmax(a, dim, keepdim), lib.argmin(a, dim=dim, keepdim=keepdim)))),
        DISTINCT + [(r(),), (ints(3, 4),), (distinct(5),)], grad=False),
    Row("argmax_ties_first", lambda lib, a: (a.argmax(), a.argmax(1), a.argmin(0)),
        [(np.array([[1.0, 3.0, 3.0], [3.0, 0.0, 0.0]]),)], grad=False),
    Row("max_int", lambda lib, a: (a.max(), a.max(0).values, a.amin(1), a.max(1).indices),
        [(ints(3, 4, dtype=np.int32),)], dtypes=(None,), grad=False),
    Row("var", lambda lib, a: (lib.var(a), lib.var(a, 0), lib.var(a, (0, 1), keepdim=True),
                               lib.var(a, 1, unbiased=False), lib.var(a, 1, correction=0),
                               lib.var(a, dim=0, correction=2)), [(r(3, 4),), (nc(4, 3),)],
        **U),
    Row("std", lambda lib, a: (lib.std(a), lib.std(a, 0), lib.std(a, -1, keepdim=True),
                               lib.std(a, 1, unbiased=False), lib.std(a, 1, correction=0)),
        [(r(3, 4),), (r(2, 3, 4),)], **U),
    Row("var_mean", lambda lib, a: (*lib.var_mean(a, 1), *lib.var_mean(a, correction=0)),
        [(r(3, 4),)], **U),
    Row("std_mean", lambda lib, a: (*lib.std_mean(a, 0, keepdim=True), *lib.std_mean(a)),
        [(r(3, 4),)], **U),
    Row("norm", lambda lib, a: (lib.norm(a), lib.norm(a, 1), lib.norm(a, dim=1),
                                lib.norm(a, p=3, dim=0, keepdim=True), lib.norm(a, "fro"),
                                a.norm(float("inf"), dim=1)), [(r(3, 4),), (nc(3, 4),)], **U),
    Row("logsumexp", lambda lib, a: (lib.logsumexp(a, 0), lib.logsumexp(a, -1, keepdim=True),
                                     lib.logsumexp(a, (0, 1))), [(r(3, 4),), (r(2, 3, 4),)],
        **U),
    Row("logsumexp_large", lambda lib, a: lib.logsumexp(a * 1000, 1), [(r(3, 4),)],
        gradcheck=False),
    Row("cumsum", lambda lib, a: (lib.cumsum(a, 0), a.cumsum(-1)),
        [(r(3, 4),), (nc(3, 4),), (r(0, 2),)], **U),
    Row("cumsum_0d", lambda lib, a: lib.cumsum(a, 0), [(r(),)], **U),
    Row("cumprod", lambda lib, a: (lib.cumprod(a, 0), a.cumprod(-1)),
        [(r(3, 4),), (nc(3, 4),), (np.array([[1.5, 0.0, 2.0], [0.0, 0.0, 3.0]]),)], **U),
    Row("all_any", lambda lib, a: (lib.all(a), lib.any(a), a.all(0), a.any(1, keepdim=True),
                                   a.all(dim=1)),
        [(bools(3, 4),), (ints(3, 4, low=0, high=2),), (r(3, 4),), (bools(0, 3),)],
        dtypes=(None,), grad=False),
    Row("count_nonzero", lambda lib, a: (lib.count_nonzero(a), lib.count_nonzero(a, 1),
                                         lib.count_nonzero(a, (0, 1))),
        [(ints(3, 4, low=0, high=2),), (bools(3, 4),)], dtypes=(None,), grad=False),
    Row("median", lambda lib, a: (lib.median(a), lib.median(a, 0), a.median(-1, keepdim=True)),
        [(distinct(3, 4),), (distinct(3, 5),)], **U),
    Row("median_int", lambda lib, a: (a.median(), a.median(1).values), [(ints(3, 5),)],
        dtypes=(None,), grad=False),
    Row("mode", lambda lib, a: lib.mode(a, 1),
        [(np.array([[1, 2, 2, 3], [4, 4, 1, 4], [0, 5, 5, 5]]),)], dtypes=(None,),
        grad=False),
    Row("mean_positive", lambda lib, a: a.mean((1, 2)), [(pos(2, 3, 4),)], **U),
]  # fmt: skip


@pytest.mark.parametrize("row,sample", cases(ROWS))
def test_row(row, sample):
    check_row(row, sample)
