"""A first handful of rows; each op family adds its own table in its own file."""

import numpy as np
import pytest

from tests.ops.optable import Row, cases, check_row

rng = np.random.default_rng(0)


def r(*shape):
    return rng.standard_normal(shape)


ROWS = [
    Row("add", lambda lib, a, b: a + b, [(r(3, 4), r(4)), (r(2, 1, 3), r(5, 1)), (r(), r(3))],
        double_backward=True),
    Row("mul", lambda lib, a, b: a * b, [(r(3, 4), r(3, 1)), (r(0, 3), r(3))],
        double_backward=True),
    Row("matmul", lambda lib, a, b: a @ b, [(r(3, 4), r(4, 5)), (r(2, 3, 4), r(4)),
                                            (r(4), r(2, 4, 3))], double_backward=True),
    Row("sum_dim", lambda lib, a: a.sum(dim=(0, 2), keepdim=True), [(r(2, 3, 4),)]),
    Row("exp_noncontig", lambda lib, a: a.transpose(0, 1).exp(), [(r(3, 4),)],
        double_backward=True),
]  # fmt: skip


@pytest.mark.parametrize("row,sample", cases(ROWS))
def test_row(row, sample):
    check_row(row, sample)
