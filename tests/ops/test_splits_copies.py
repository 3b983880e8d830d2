"""Splits along named axes, split_with_sizes and the unsafe_ forms, row_stack, atleast_3d, and
the ``*_copy`` ops (fresh contiguous copies with the views' gradients), against PyTorch."""

import pytest
import torch

import ember
from tests.ops.optable import Row, cases, check_row
from tests.ops.samples import nc, r, reseed

reseed(33)

U = dict(double_backward=True)

SPLITS = [
    Row("hsplit", lambda lib, x: (*lib.hsplit(x, 2), *x.hsplit([1, 3])),
        [(r(3, 4),), (r(6),), (nc(2, 4, 3),)], **U),
    Row("vsplit", lambda lib, x: (*lib.vsplit(x, [1]), *x.vsplit(2)), [(r(4, 3),), (r(2, 2, 3),)],
        **U),
    Row("dsplit", lambda lib, x: (*lib.dsplit(x, 2), *x.dsplit([1, 5])), [(r(2, 3, 4),)], **U),
    Row("split_with_sizes", lambda lib, x: (*lib.split_with_sizes(x, [1, 3], 1),
                                            *x.split_with_sizes((2, 0, 1)),
                                            *lib.unsafe_split_with_sizes(x, [2, 2], dim=-1),
                                            *x.unsafe_split_with_sizes([1, 2])),
        [(r(3, 4),)], **U),
    Row("unsafe_split_chunk", lambda lib, x: (*lib.unsafe_split(x, 2, 1), *x.unsafe_split(1),
                                              *lib.unsafe_chunk(x, 3, 1), *x.unsafe_chunk(2)),
        [(r(3, 4),)], **U),
    Row("row_stack", lambda lib, a, b: (lib.row_stack([a, b]), lib.row_stack((a[0], b[1]))),
        [(r(2, 3), r(4, 3))], **U),
    Row("atleast_3d", lambda lib, a, b, c, d: (*lib.atleast_3d(a, b, c, d), lib.atleast_3d(b),
                                               *lib.atleast_3d([a, c])),
        [(r(), r(3), r(2, 3), r(1, 2, 3, 2))], **U),
]  # fmt: skip

COPIES = [
    Row("view_copy", lambda lib, x: (lib.view_copy(x, (4, 3)), lib.view_copy(x, [-1])),
        [(r(3, 4),)], **U),
    Row("permute_t_transpose_copy", lambda lib, x: (lib.permute_copy(x, (1, 0)), lib.t_copy(x),
                                                    lib.transpose_copy(x, 0, 1)),
        [(r(3, 4),), (nc(3, 4),)], **U),
    Row("squeeze_unsqueeze_copy", lambda lib, x: (lib.unsqueeze_copy(x, 1), lib.squeeze_copy(x),
                                                  lib.squeeze_copy(x, 0)),
        [(r(1, 3),), (r(1, 1, 2),)], **U),
    Row("expand_copy", lambda lib, x: lib.expand_copy(x, (2, 3, 4)), [(r(3, 1),)], **U),
    Row("select_slice_copy", lambda lib, x: (lib.select_copy(x, 1, -1),
                                             lib.slice_copy(x, 1, 1, None, 2),
                                             lib.slice_copy(x), lib.slice_copy(x, 0, -2, 10)),
        [(r(3, 5),), (nc(3, 5),)], **U),
    Row("diagonal_copy", lambda lib, x: (lib.diagonal_copy(x), lib.diagonal_copy(x, 1, 1, 2)),
        [(r(3, 4, 5),)], **U),
    Row("alias_copy", lambda lib, x: lib.alias_copy(x), [(r(3, 4),)], **U),
    Row("detach_copy", lambda lib, x: lib.detach_copy(x), [(r(3, 4),)], grad=False),
    Row("unbind_split_copy", lambda lib, x: (*lib.unbind_copy(x, 1), *lib.split_copy(x, 2),
                                             *lib.split_with_sizes_copy(x, [1, 3], 1)),
        [(r(3, 4),)], **U),
    Row("narrow_copy", lambda lib, x: (lib.narrow_copy(x, 1, 1, 2), x.narrow_copy(0, 1, 2)),
        [(r(3, 4),)], **U),
    # torch's backward of narrow_copy fails for a negative start: forward only.
    Row("narrow_copy_negative", lambda lib, x: x.narrow_copy(0, -2, 2), [(r(3, 4),)],
        grad=False),
    Row("unfold_copy", lambda lib, x: lib.unfold_copy(x, 1, 2, 1), [(r(3, 4),)], **U),
    Row("as_strided_copy", lambda lib, x: (lib.as_strided_copy(x, (2, 2), (1, 2)),
                                           lib.as_strided_copy(x, (3, 3), (4, 1), 1),
                                           lib.as_strided_copy(x, (2, 3), (0, 2))),
        [(r(3, 4),)], **U),
]  # fmt: skip


@pytest.mark.parametrize("row,sample", cases(SPLITS + COPIES))
def test_row(row, sample):
    check_row(row, sample)


COPY_OPS = [
    lambda lib, x: lib.view_copy(x, (4, 3)),
    lambda lib, x: lib.permute_copy(x, (1, 0)),
    lambda lib, x: lib.t_copy(x),
    lambda lib, x: lib.transpose_copy(x, 0, 1),
    lambda lib, x: lib.unsqueeze_copy(x, 0),
    lambda lib, x: lib.expand_copy(x, (2, 3, 4)),
    lambda lib, x: lib.select_copy(x, 0, 1),
    lambda lib, x: lib.slice_copy(x, 1, 0, 4, 2),
    lambda lib, x: lib.diagonal_copy(x),
    lambda lib, x: lib.alias_copy(x),
    lambda lib, x: lib.detach_copy(x),
    lambda lib, x: lib.narrow_copy(x, 0, 1, 1),
    lambda lib, x: lib.unbind_copy(x)[0],
    lambda lib, x: lib.split_copy(x, 2)[0],
    lambda lib, x: lib.as_strided_copy(x, (2, 2), (1, 2)),
]


@pytest.mark.parametrize("op", COPY_OPS)
def test_copies_own_their_memory(op):
    """Writing into a copy leaves the source alone; the copy is contiguous, as in torch."""
    for lib in (torch, ember):
        x = lib.tensor(r(3, 4))
        before = x.clone()
        y = op(lib, x)
        assert y.is_contiguous()
        y.add_(1)
        assert lib.equal(x, before)


def test_detach_copy_records_no_gradient():
    """torch marks the result as requiring grad through a node whose backward raises; ember's
    result is detached outright (docs/compat.md)."""
    x = ember.ones(2, requires_grad=True)
    y = ember.detach_copy(x)
    assert not y.requires_grad and y.grad_fn is None


def raises_like_torch(fn, match):
    with pytest.raises(Exception) as expected:
        fn(torch)
    with pytest.raises(expected.type, match=match):
        fn(ember)


@pytest.mark.parametrize(
    "fn,match",
    [
        (lambda lib: lib.hsplit(lib.ones(3, 4), 3), "divisible"),
        (lambda lib: lib.hsplit(lib.tensor(1.0), 1), "at least 1 dimension"),
        (lambda lib: lib.vsplit(lib.ones(4), 2), "at least 2 dimensions"),
        (lambda lib: lib.dsplit(lib.ones(2, 4), 2), "at least 3 dimensions"),
        (lambda lib: lib.dsplit(lib.ones(2, 2, 3), 2), "divisible"),
        (lambda lib: lib.split_with_sizes(lib.ones(4), [1, 2]), "sum exactly"),
        (lambda lib: lib.view_copy(lib.ones(3, 4), (5, 2)), "shape"),
        (lambda lib: lib.select_copy(lib.ones(3, 4), 1, 4), "out of range"),
        (lambda lib: lib.narrow_copy(lib.ones(3, 4), 0, 2, 2), "exceeds"),
        (lambda lib: lib.as_strided_copy(lib.ones(3, 4), (3, 3), (4, 2)), ""),
        (lambda lib: lib.expand_copy(lib.ones(3, 2), (3, 4)), ""),
    ],
)
def test_errors(fn, match):
    raises_like_torch(fn, match or None)
