"""Op table: views and reshapes, joining and splitting, flips and rolls, triangles, diagonals."""

import numpy as np
import pytest

from tests.ops.optable import Row, cases, check_row
from tests.ops.samples import bools, ints, nc, r, reseed

reseed(3)

U = dict(double_backward=True)


def _pair(a):
    return a, a * 2


ROWS = [
    Row("view", lambda lib, a: (a.view(4, 3), a.view(-1), a.view(2, -1, 2)), [(r(3, 4),)], **U),
    Row("view_0d_empty", lambda lib, a, b: (a.view(1, 1), a.view(-1), b.view(3, 0), b.view(-1)),
        [(r(), r(0, 3))], **U),
    Row("reshape", lambda lib, a: (a.reshape(4, 3), lib.reshape(a, (-1,)), a.reshape(2, 2, 3)),
        [(r(3, 4),), (nc(3, 4),)], **U),
    Row("view_as_reshape_as", lambda lib, a, b: (a.view_as(b), a.reshape_as(b)),
        [(r(3, 4), r(2, 6))], **U),
    Row("flatten", lambda lib, a: (a.flatten(), lib.flatten(a, 1), a.flatten(0, 1),
                                   a.flatten(-2, -1)), [(r(2, 3, 2),), (nc(2, 3, 2),)], **U),
    Row("flatten_0d", lambda lib, a: a.flatten(), [(r(),)], **U),
    Row("unflatten", lambda lib, a: (a.unflatten(1, (2, 2)), lib.unflatten(a, 0, (3, 1)),
                                     a.unflatten(-1, (-1, 2))), [(r(3, 4),)], **U),
    Row("squeeze", lambda lib, a: (a.squeeze(), lib.squeeze(a, 1), a.squeeze(0), a.squeeze(-1),
                                   a.squeeze((1, 3))), [(r(3, 1, 2, 1),)], **U),
    Row("unsqueeze", lambda lib, a: (a.unsqueeze(0), lib.unsqueeze(a, -1), a.unsqueeze(1)),
        [(r(3, 4),), (nc(3, 4),)], **U),
    Row("unsqueeze_0d", lambda lib, a: (a.unsqueeze(0), a.unsqueeze(-1)), [(r(),)], **U),
    Row("permute", lambda lib, a: (a.permute(2, 0, 1), lib.permute(a, (1, 2, 0)),
                                   a.permute(-1, -2, -3)), [(r(2, 3, 4),), (nc(2, 3, 4),)], **U),
    Row("transpose", lambda lib, a: (a.transpose(0, 2), lib.transpose(a, -1, 0),
                                     lib.swapaxes(a, 0, 1), a.swapdims(1, 2)),
        [(r(2, 3, 4),)], **U),
    Row("t", lambda lib, a: (a.t(), lib.t(a)), [(r(3, 4),), (r(4),), (r(),)], **U),
    Row("T_mT", lambda lib, a: (a.mT, a.transpose(-2, -1)), [(r(2, 3, 4),)], **U),
    Row("movedim", lambda lib, a: (lib.movedim(a, 0, -1), a.movedim((0, 1), (2, 0)),
                                   lib.moveaxis(a, 1, 0)), [(r(2, 3, 4),)], **U),
    Row("expand", lambda lib, a: (a.expand(2, 3, 4), a.expand(-1, 4), a.expand(3, -1)),
        [(r(3, 1),)], **U),
    Row("expand_as_broadcast_to", lambda lib, a, b: (a.expand_as(b),
                                                     lib.broadcast_to(a, (2, 3, 4))),
        [(r(1, 4), r(2, 3, 4))], **U),
    Row("expand_0d", lambda lib, a: a.expand(2, 3), [(r(),)], **U),
    Row("broadcast_tensors", lambda lib, a, b: lib.broadcast_tensors(a, b),
        [(r(3, 1), r(4)), (r(), r(2))], **U),
    Row("repeat", lambda lib, a: (a.repeat(2, 1), a.repeat(1, 2, 3), a.repeat(2, 2)),
        [(r(3, 4),), (nc(3, 4),)], **U),
    Row("repeat_0d", lambda lib, a: a.repeat(3), [(r(),)], **U),
    Row("tile", lambda lib, a: (a.tile((2,)), lib.tile(a, (2, 1, 2))), [(r(3, 4),)], **U),
    Row("repeat_interleave", lambda lib, a, rep: (
        a.repeat_interleave(2), lib.repeat_interleave(a, 3, dim=1), a.repeat_interleave(rep, 0)),
        [(r(3, 2), np.array([1, 0, 2]))], **U),
    Row("cat", lambda lib, a, b: (lib.cat([a, b]), lib.cat((a, b, a), dim=1),
                                  lib.concat([a, b], -1), lib.cat([a, b * 0 + 1])),
        [(r(2, 3), r(2, 3)), (nc(2, 3), r(2, 3))], **U),
    Row("cat_empty_and_sizes", lambda lib, a, b, c: (lib.cat([a, b]), lib.cat([a, c], 1)),
        [(r(2, 3), r(0, 3), r(2, 1))], **U),
    Row("cat_promotes", lambda lib, a, b: lib.cat([a, b]), [(ints(2, 3), r(2, 3))], grad=False),
    Row("stack", lambda lib, a, b: (lib.stack([a, b]), lib.stack((a, b), 1), lib.stack([a, b], -1)),
        [(r(2, 3), r(2, 3))], **U),
    Row("stack_0d", lambda lib, a, b: (lib.stack([a, b]), lib.stack([a, b], -1)), [(r(), r())],
        **U),
    Row("hstack_vstack", lambda lib, a, b: (lib.hstack([a, b]), lib.vstack([a, b])),
        [(r(2, 3), r(2, 3)), (r(3), r(3))], **U),
    Row("split", lambda lib, a: (*a.split(2), *lib.split(a, [1, 3], 1), *a.split(1, -1)),
        [(r(4, 4),), (nc(4, 4),)], **U),
    Row("chunk", lambda lib, a: (*a.chunk(2), *lib.chunk(a, 3, 1), *a.chunk(5)),
        [(r(4, 5),)], **U),
    Row("unbind", lambda lib, a: (*a.unbind(), *lib.unbind(a, 1)), [(r(3, 2),)], **U),
    Row("narrow", lambda lib, a: (a.narrow(0, 1, 2), lib.narrow(a, 1, 0, 3), a.narrow(-1, 2, 0)),
        [(r(3, 4),), (nc(3, 4),)], **U),
    Row("select", lambda lib, a: (a.select(0, 1), lib.select(a, 1, -1)), [(r(3, 4),)], **U),
    Row("flip", lambda lib, a: (a.flip(0), lib.flip(a, (0, 1)), a.flip(-1), lib.fliplr(a),
                                lib.flipud(a)), [(r(3, 4),), (nc(3, 4),)], **U),
    Row("roll", lambda lib, a: (a.roll(1), lib.roll(a, -1, 0), a.roll((1, 2), (0, 1)),
                                a.roll(5, 1)), [(r(3, 4),), (nc(3, 4),)], **U),
    Row("tril_triu", lambda lib, a: (a.tril(), lib.tril(a, 1), a.triu(), lib.triu(a, -1)),
        [(r(3, 4),), (r(2, 3, 3),), (nc(4, 3),)], **U),
    Row("diag", lambda lib, a: (lib.diag(a), a.diag(1), lib.diag(a, -1)),
        [(r(3, 4),), (r(3),)], **U),
    Row("diagonal", lambda lib, a: (a.diagonal(), lib.diagonal(a, 1), a.diagonal(0, 1, 2),
                                    lib.diagonal(a, -1, -1, 0)), [(r(3, 3, 4),)], **U),
    Row("diag_embed", lambda lib, a: (lib.diag_embed(a), lib.diag_embed(a, 1)), [(r(2, 3),)],
        **U),
    Row("meshgrid", lambda lib, a, b: (*lib.meshgrid(a, b, indexing="ij"),
                                       *lib.meshgrid(a, b, indexing="xy")), [(r(3), r(2))], **U),
    Row("clone_contiguous", lambda lib, a: (a.clone(), a.contiguous(), lib.clone(a)),
        [(nc(3, 4),), (r(),)], **U),
    Row("shape_int_bool", lambda lib, a, b: (a.t(), a.reshape(-1), a.flip(0), lib.cat([a, a]),
                                             b.repeat(2, 1), b.transpose(0, 1), a.tril()),
        [(ints(3, 4), bools(2, 3))], dtypes=(None,), grad=False),
    Row("ravel_atleast", lambda lib, a: (a.ravel(), lib.atleast_2d(a), lib.atleast_1d(a)),
        [(r(),), (r(3),)], **U),
    Row("rot90", lambda lib, a: (lib.rot90(a), a.rot90(2), a.rot90(-1, (0, 1))), [(r(3, 4),)],
        **U),
    Row("unfold_windows", lambda lib, a: (a.unfold(1, 3, 2), a.unfold(0, 2, 1), a.unfold(-1, 7, 1),
                                          a.unfold(1, 0, 3)), [(r(3, 7),), (nc(3, 7),)], **U),
    Row("unfold_0d", lambda lib, a: a.unfold(0, 1, 1), [(r(),)], **U),
]  # fmt: skip


@pytest.mark.parametrize("row,sample", cases(ROWS))
def test_row(row, sample):
    check_row(row, sample)
