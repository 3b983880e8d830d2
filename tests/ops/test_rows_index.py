"""Op table: indexing and assignment, gather/scatter, index_* and masked_* ops, sorting."""

import numpy as np
import pytest

from tests.ops.optable import Row, cases, check_row
from tests.ops.samples import bools, distinct, ints, nc, r, reseed

reseed(4)

U = dict(double_backward=True)
# Per column a permutation: scatter targets without duplicates (deterministic in torch).
PERM = np.stack([np.random.default_rng(i).permutation(3)[:2] for i in range(4)], 1)
DUP = np.array([[0, 1, 0, 2], [2, 1, 0, 0]])  # duplicates: accumulated by the reductions


def _set(key):
    def fn(lib, a, v):
        x = a * 1  # a non-leaf, so that the assignment is recorded
        x[key] = v
        return x

    return fn


ROWS = [
    Row("getitem_basic", lambda lib, a: (a[1], a[-1, 2], a[1:3], a[:, ::2], a[..., 1], a[None],
                                         a[:, None, 1:], a[0, ..., None], a[::2, -2:]),
        [(r(4, 3),), (nc(4, 3),)], **U),
    Row("getitem_0d", lambda lib, a: (a[()], a[None], a[...]), [(r(),)], **U),
    Row("getitem_advanced", lambda lib, a, i: (a[i], a[:, i[:2]], a[i, i], a[[0, 2]],
                                               a[[0, 1], [1, 2]], a[1:, [2, 0, 2]]),
        [(r(4, 3), np.array([2, 0, 2]))], **U),
    Row("getitem_advanced_nd", lambda lib, a, i: (a[i], a[:, i], a[i, 1], a[..., i]),
        [(r(3, 3, 3), np.array([[0, 1], [2, 2]]))], **U),
    Row("getitem_bool", lambda lib, a, m: (a[m], a[a > 0], a[m[0]], a[:, m[:, 0]]),
        [(r(3, 3), bools(3, 3))], **U),
    Row("getitem_int_tensor_scalar", lambda lib, a: (a[lib.tensor(1)], a[lib.tensor([1, 0])]),
        [(r(3, 2),)], **U),
    Row("setitem", _set((slice(None), 1)), [(r(3, 4), r(3)), (r(3, 4), r(1))], **U),
    Row("setitem_scalar_key", _set(0), [(r(3, 4), r(4)), (r(3, 4), r())], **U),
    Row("setitem_advanced", _set(([0, 2],)), [(r(3, 4), r(2, 4))], **U),
    Row("setitem_mask", lambda lib, a, v: _set(a > 0)(lib, a, v), [(r(3, 4), r())], **U),
    Row("setitem_number", lambda lib, a: _set((slice(1, None), slice(None, 2)))(lib, a, 2.5),
        [(r(3, 4),)], **U),
    Row("gather", lambda lib, a, i: (lib.gather(a, 0, i), a.gather(1, i[:, :2])),
        [(r(3, 4), DUP)], **U),
    Row("gather_3d", lambda lib, a, i: a.gather(-1, i),
        [(r(2, 3, 4), ints(2, 3, 2, low=0, high=4))], **U),
    Row("scatter", lambda lib, a, i, s: (lib.scatter(a, 0, i, s), a.scatter(0, i, 1.5),
                                         a.scatter(0, i, value=-2.0)),
        [(r(3, 4), PERM, r(2, 4))], **U),
    # A source larger than the index: torch has no gradient for it, so forward only.
    Row("scatter_larger_src", lambda lib, a, i, s: (a.scatter(0, i, s), a.scatter_add(1, i, s),
                                                    a.scatter_reduce(0, i, s, "amax")),
        [(r(3, 4), PERM, r(3, 5))], grad=False),
    Row("scatter_add", lambda lib, a, i, s: (lib.scatter_add(a, 0, i, s),
                                             a.scatter_add(1, i, s)),
        [(r(3, 4), DUP, r(2, 4))], **U),
    *[Row(f"scatter_reduce_{red}_{inc}", lambda lib, a, i, s, red=red, inc=inc:
          lib.scatter_reduce(a, 0, i, s, red, include_self=inc),
          [(distinct(3, 4) + 0.5, DUP, distinct(2, 4) + 0.5)], **U)
      for red in ("sum", "mean", "amax", "amin", "prod") for inc in (True, False)],
    Row("index_select", lambda lib, a, i: (lib.index_select(a, 0, i), a.index_select(1, i),
                                           a.index_select(-1, i[:1])),
        [(r(3, 3), np.array([2, 0, 2])), (nc(3, 3), np.array([1]))], **U),
    Row("index_add", lambda lib, a, i, s: (lib.index_add(a, 0, i, s),
                                           a.index_add(0, i, s, alpha=2)),
        [(r(3, 4), np.array([2, 0, 2]), r(3, 4))], **U),
    Row("index_fill", lambda lib, a, i: (lib.index_fill(a, 1, i, -1.0),
                                         a.index_fill(0, i[:1], 2.0)),
        [(r(3, 4), np.array([2, 0]))], **U),
    Row("index_copy", lambda lib, a, i, s: lib.index_copy(a, 0, i, s),
        [(r(3, 4), np.array([2, 0]), r(2, 4))], **U),
    Row("masked_fill", lambda lib, a, m: (lib.masked_fill(a, m, 0.5), a.masked_fill(m[0], -1.0),
                                          a.masked_fill(a > 0, 0.0)),
        [(r(3, 4), bools(3, 4)), (nc(3, 4), bools(3, 4))], **U),
    Row("masked_fill_tensor_value", lambda lib, a, m, v: a.masked_fill(m, v),
        [(r(3, 4), bools(3, 4), r())], **U),
    Row("masked_select", lambda lib, a, m: (lib.masked_select(a, m), a.masked_select(m[0])),
        [(r(3, 4), bools(3, 4))], **U),
    Row("take_along_dim", lambda lib, a, i: (lib.take_along_dim(a, i, 1), lib.take_along_dim(a, i)),
        [(r(3, 4), ints(3, 2, low=0, high=4))], **U),
    Row("take", lambda lib, a, i: lib.take(a, i), [(r(3, 4), ints(5, low=0, high=12))], **U),
    Row("nonzero_argwhere", lambda lib, a: (lib.nonzero(a), a.nonzero(as_tuple=True),
                                            lib.argwhere(a)),
        [(ints(3, 4, low=0, high=2),), (bools(2, 2, 2),), (r(),), (np.zeros((0, 2)),)],
        dtypes=(None,), grad=False),
    Row("sort", lambda lib, a: (lib.sort(a), a.sort(0), a.sort(-1, descending=True),
                                lib.sort(a, dim=1, stable=True)),
        [(distinct(3, 4),), (nc(3, 4, gen=distinct),)], **U),
    Row("sort_stable_ties", lambda lib, a: (lib.sort(a, stable=True),
                                            lib.sort(a, descending=True, stable=True)),
        [(ints(3, 6, low=0, high=3),)], dtypes=(None,), grad=False),
    Row("argsort", lambda lib, a: (lib.argsort(a), a.argsort(0, descending=True)),
        [(distinct(3, 4),)], grad=False),
    Row("topk", lambda lib, a: (lib.topk(a, 2), a.topk(1, 0), a.topk(2, largest=False),
                                a.topk(3, -1, sorted=True)), [(distinct(3, 4),)], **U),
    Row("unique", lambda lib, a: (lib.unique(a), *lib.unique(a, return_inverse=True,
                                                             return_counts=True)),
        [(ints(3, 4, low=0, high=4),), (np.array([2.0, 1.0, 2.0, 0.5]),)], dtypes=(None,),
        grad=False),
    Row("unique_dim", lambda lib, a: lib.unique(a, dim=0, return_counts=True),
        [(np.array([[1, 2], [0, 1], [1, 2]]),)], dtypes=(None,), grad=False),
]  # fmt: skip


@pytest.mark.parametrize("row,sample", cases(ROWS))
def test_row(row, sample):
    check_row(row, sample)
