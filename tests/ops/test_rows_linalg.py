"""Op table: matrix products, einsum and tensordot, norms, inverse, determinant, solve, SVD."""

import numpy as np
import pytest

from tests.ops.optable import Row, cases, check_row
from tests.ops.samples import ints, nc, r, reseed

reseed(5)

U = dict(double_backward=True)


def wellcond(*shape):
    """Square matrices far from singular: random plus 3 on the diagonal."""
    return r(*shape) + 3 * np.eye(shape[-1])


def spd(*shape):
    a = r(*shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


ROWS = [
    Row("matmul", lambda lib, a, b: lib.matmul(a, b),
        [(r(3, 4), r(4, 5)), (r(2, 3, 4), r(4)), (r(4), r(2, 4, 3)), (r(4), r(4)),
         (r(2, 1, 3, 4), r(3, 4, 2)), (nc(3, 4), nc(4, 2)), (r(0, 4), r(4, 2)), (r(3, 0), r(0, 2))],
        **U),
    Row("matmul_operator", lambda lib, a, b: (a @ b, b.t() @ a.t()), [(r(3, 4), r(4, 2))], **U),
    Row("matmul_int", lambda lib, a, b: (a @ b, lib.mm(a, b)), [(ints(3, 4), ints(4, 2))],
        dtypes=(None,), grad=False),
    Row("mm", lambda lib, a, b: lib.mm(a, b), [(r(3, 4), r(4, 5)), (nc(3, 4), r(4, 2))], **U),
    Row("bmm", lambda lib, a, b: lib.bmm(a, b), [(r(2, 3, 4), r(2, 4, 5))], **U),
    Row("mv", lambda lib, a, b: (lib.mv(a, b), a.mv(b)), [(r(3, 4), r(4))], **U),
    Row("dot_inner", lambda lib, a, b: (lib.dot(a, b), lib.inner(a, b), lib.vdot(a, b)),
        [(r(4), r(4)), (r(0), r(0))], **U),
    Row("inner_nd", lambda lib, a, b: lib.inner(a, b), [(r(2, 3), r(4, 3))], **U),
    Row("outer", lambda lib, a, b: (lib.outer(a, b), a.outer(b), lib.ger(a, b)),
        [(r(3), r(4))], **U),
    Row("addmm", lambda lib, c, a, b: (lib.addmm(c, a, b), lib.addmm(c, a, b, beta=0.5, alpha=2)),
        [(r(3, 5), r(3, 4), r(4, 5)), (r(5), r(3, 4), r(4, 5))], **U),
    Row("addmv", lambda lib, c, a, b: lib.addmv(c, a, b, beta=2, alpha=0.5),
        [(r(3), r(3, 4), r(4))], **U),
    Row("baddbmm", lambda lib, c, a, b: (lib.baddbmm(c, a, b),
                                         lib.baddbmm(c, a, b, beta=0.5, alpha=-1)),
        [(r(2, 3, 5), r(2, 3, 4), r(2, 4, 5)), (r(3, 1), r(2, 3, 4), r(2, 4, 5))], **U),
    Row("addbmm", lambda lib, c, a, b: lib.addbmm(c, a, b, alpha=2),
        [(r(3, 5), r(2, 3, 4), r(2, 4, 5))], **U),
    Row("einsum", lambda lib, a, b: (lib.einsum("ij,jk->ik", a, b), lib.einsum("ij,jk", a, b),
                                     lib.einsum("ij->ji", a), lib.einsum("ij->", a),
                                     lib.einsum("ij,ij->i", a, b.t()), lib.einsum("ii", a[:, :3]),
                                     lib.einsum("i,j->ij", a[0], b[0])),
        [(r(3, 4), r(4, 3))], **U),
    Row("einsum_batch_ellipsis", lambda lib, a, b: (lib.einsum("bij,bjk->bik", a, b),
                                                    lib.einsum("...ij,...jk->...ik", a, b),
                                                    lib.einsum("bij,bjk", [a, b])),
        [(r(2, 3, 4), r(2, 4, 2))], **U),
    Row("tensordot", lambda lib, a, b: (lib.tensordot(a, b.transpose(0, 1), 1),
                                        lib.tensordot(a, b, ([1, 2], [0, 1])),
                                        lib.tensordot(a, b, dims=0).sum(0)),
        [(r(2, 3, 4), r(3, 4, 2))], **U),
    Row("kron", lambda lib, a, b: lib.kron(a, b), [(r(2, 3), r(3, 2)), (r(2), r(3))], **U),
    Row("cross", lambda lib, a, b: (lib.linalg.cross(a, b), lib.cross(a, b, dim=1)),
        [(r(4, 3), r(4, 3))], **U),
    Row("vector_norm", lambda lib, a: (lib.linalg.vector_norm(a), lib.linalg.vector_norm(a, 1, 1),
                                       lib.linalg.vector_norm(a, 3, (0, 1), keepdim=True),
                                       lib.linalg.vector_norm(a, float("inf"), 0),
                                       lib.linalg.vector_norm(a, 0.5, -1)),
        [(r(3, 4),), (nc(3, 4),)], **U),
    Row("linalg_norm", lambda lib, a: (lib.linalg.norm(a), lib.linalg.norm(a, dim=1),
                                       lib.linalg.norm(a, "fro"), lib.linalg.norm(a, 1),
                                       lib.linalg.norm(a, float("inf")), lib.linalg.norm(a, -1),
                                       lib.linalg.norm(a, 3, dim=0)),
        [(r(3, 4),)], **U),
    Row("matrix_norm", lambda lib, a: (lib.linalg.matrix_norm(a), lib.linalg.matrix_norm(a, 1),
                                       lib.linalg.matrix_norm(a, -float("inf"))),
        [(r(2, 3, 4),)], **U),
    Row("matrix_norm_svd", lambda lib, a: (lib.linalg.matrix_norm(a, "nuc"),
                                           lib.linalg.matrix_norm(a, 2)), [(r(2, 3, 4),)]),
    Row("inv", lambda lib, a: (lib.linalg.inv(a), lib.inverse(a), a.inverse()),
        [(wellcond(3, 3),), (wellcond(2, 3, 3),), (nc(3, 3, gen=wellcond),)], **U),
    Row("det", lambda lib, a: (lib.linalg.det(a), lib.det(a), a.det()),
        [(wellcond(3, 3),), (wellcond(2, 3, 3),)], **U),
    Row("slogdet_logdet", lambda lib, a: (*lib.linalg.slogdet(a), lib.logdet(a)),
        [(spd(3, 3),)], **U),
    Row("solve", lambda lib, a, b: lib.linalg.solve(a, b),
        [(wellcond(3, 3), r(3, 2)), (wellcond(2, 3, 3), r(2, 3, 2)), (wellcond(3, 3), r(3))],
        **U),
    Row("svd_values_and_reconstruction", lambda lib, a: (
        lib.linalg.svdvals(a), lib.linalg.svd(a, full_matrices=False)[1],
        (lambda u, s, vh: (u * s.unsqueeze(-2)) @ vh)(*lib.linalg.svd(a, full_matrices=False)),
        lib.linalg.svd(a)[0].abs()[..., :3], lib.linalg.svd(a)[2].abs()[..., :3, :]),
        [(r(3, 4),), (r(2, 4, 3),)], grad=False),
    Row("svdvals_grad", lambda lib, a: lib.linalg.svdvals(a), [(r(3, 4),), (r(2, 4, 3),)]),
    Row("qr", lambda lib, a: (lambda q, rr: (q @ rr, q.abs(), rr.abs()))(*lib.linalg.qr(a)),
        [(r(4, 3),)], grad=False),
    Row("cholesky", lambda lib, a: lib.linalg.cholesky(a), [(spd(3, 3),)], grad=False),
    Row("eigh_values", lambda lib, a: lib.linalg.eigvalsh(a), [(spd(3, 3),)], grad=False),
    Row("pinv", lambda lib, a: lib.linalg.pinv(a), [(r(4, 3),)], grad=False, rtol=1e-4,
        atol=1e-5),
    Row("matrix_power", lambda lib, a: (lib.linalg.matrix_power(a, 3), lib.matrix_power(a, 0),
                                        lib.linalg.matrix_power(a, -2)),
        [(wellcond(3, 3),)], **U),
    Row("trace", lambda lib, a: (lib.trace(a), a.trace()), [(r(3, 4),)], **U),
]  # fmt: skip


@pytest.mark.parametrize("row,sample", cases(ROWS))
def test_row(row, sample):
    check_row(row, sample)


def test_svdvals_double_backward():
    """Through the singular vectors' derivatives, for wide, tall and square matrices."""
    row = Row("svdvals", lambda lib, a: lib.linalg.svdvals(a), [], double_backward=True)
    for sample in ((r(3, 4),), (r(4, 3),), (r(3, 3),)):
        check_row(row, sample)
