"""Op table: max, average, power-average and adaptive pooling in 1, 2 and 3 dimensions, and
max unpooling. Max pools see inputs without ties, so that their gradient is defined."""

import pytest

from tests.ops.optable import Row, backend_cases, check_row
from tests.ops.samples import distinct, nc, pos, r, reseed

reseed(21)

D = dict(double_backward=True)
MAX_POOL = dict(kernels=("max_pool", "max_pool_grad"), **D)
WITH_INDICES = dict(kernels=("max_pool", "max_pool_grad", "max_pool_indices"), **D)
ADAPTIVE_MAX = dict(kernels=("adaptive_max_pool", "max_pool_grad"), **D)
UNPOOL = dict(kernels=("max_pool_indices", "max_pool_select", "max_unpool"), **D)
AVG_POOL = dict(kernels=("avg_pool", "avg_pool_grad"), **D)


def F(lib):
    return lib.nn.functional


def _unpool(lib, x, pool, unpool, kernel, stride, **output):
    values, indices = getattr(F(lib), pool)(x, kernel, stride, return_indices=True)
    return getattr(F(lib), unpool)(values, indices, kernel, stride, **output)


MAX = [
    Row("max_pool1d", lambda lib, x: (F(lib).max_pool1d(x, 3, 2, padding=1),
                                      F(lib).max_pool1d(x, 2, dilation=2, ceil_mode=True)),
        [(distinct(2, 2, 7),), (distinct(3, 6),)], **MAX_POOL),
    Row("max_pool1d_indices", lambda lib, x: F(lib).max_pool1d(x, 3, 2, return_indices=True),
        [(distinct(2, 2, 7),)], **WITH_INDICES),
    Row("max_pool2d", lambda lib, x: (F(lib).max_pool2d(x, 3, 2, padding=1),
                                      F(lib).max_pool2d(x, 2),
                                      F(lib).max_pool2d(x, (2, 3), (1, 2), dilation=(2, 1),
                                                        ceil_mode=True)),
        [(distinct(1, 2, 5, 5),), (nc(1, 2, 5, 5, gen=distinct),), (distinct(2, 5, 5),)],
        **MAX_POOL),
    Row("max_pool2d_indices", lambda lib, x: F(lib).max_pool2d(
        x, 2, 1, padding=1, return_indices=True), [(distinct(1, 2, 4, 4),)], **WITH_INDICES),
    Row("max_pool3d", lambda lib, x: (F(lib).max_pool3d(x, 2),
                                      F(lib).max_pool3d(x, 3, 2, padding=1,
                                                        return_indices=True)),
        [(distinct(1, 2, 4, 4, 4),), (distinct(2, 3, 4, 4),)], **WITH_INDICES),
    Row("adaptive_max_pool1d", lambda lib, x: (
        F(lib).adaptive_max_pool1d(x, 3), F(lib).adaptive_max_pool1d(x, 4, return_indices=True)),
        [(distinct(2, 2, 7),), (distinct(2, 5),)], **ADAPTIVE_MAX),
    Row("adaptive_max_pool2d", lambda lib, x: (
        F(lib).adaptive_max_pool2d(x, (2, 3)), F(lib).adaptive_max_pool2d(x, (None, 2)),
        F(lib).adaptive_max_pool2d(x, 3, return_indices=True)),
        [(distinct(1, 2, 5, 5),), (distinct(2, 4, 5),)], **ADAPTIVE_MAX),
    Row("adaptive_max_pool3d", lambda lib, x: (
        F(lib).adaptive_max_pool3d(x, (2, 1, 3)),
        F(lib).adaptive_max_pool3d(x, 2, return_indices=True)),
        [(distinct(1, 2, 3, 4, 5),)], **ADAPTIVE_MAX),
    Row("max_unpool1d", lambda lib, x: (
        _unpool(lib, x, "max_pool1d", "max_unpool1d", 2, 2),
        _unpool(lib, x, "max_pool1d", "max_unpool1d", 2, 2, output_size=[7])),
        [(distinct(2, 2, 7),)], **UNPOOL),
    Row("max_unpool2d", lambda lib, x: _unpool(lib, x, "max_pool2d", "max_unpool2d", 2, 2),
        [(distinct(1, 2, 4, 4),), (distinct(2, 4, 6),)], **UNPOOL),
    Row("max_unpool2d_output_size", lambda lib, x: _unpool(
        lib, x, "max_pool2d", "max_unpool2d", 2, 2, output_size=(5, 5)),
        [(distinct(1, 2, 5, 5),)], **UNPOOL),
    Row("max_unpool3d", lambda lib, x: _unpool(lib, x, "max_pool3d", "max_unpool3d", 2, 2),
        [(distinct(1, 2, 4, 4, 4),)], **UNPOOL),
]  # fmt: skip

AVERAGE = [
    Row("avg_pool1d", lambda lib, x: (
        F(lib).avg_pool1d(x, 3, 2, padding=1),
        F(lib).avg_pool1d(x, 3, 2, padding=1, ceil_mode=True, count_include_pad=False)),
        [(r(2, 2, 6),), (r(3, 6),)], **AVG_POOL),
    Row("avg_pool2d", lambda lib, x: (
        F(lib).avg_pool2d(x, 3, 2, padding=1), F(lib).avg_pool2d(x, 2),
        F(lib).avg_pool2d(x, (2, 3), 2, padding=1, ceil_mode=True, count_include_pad=False),
        F(lib).avg_pool2d(x, 2, 1, divisor_override=3)),
        [(r(1, 2, 5, 5),), (nc(1, 2, 5, 5),), (r(2, 5, 5),)], **AVG_POOL),
    Row("avg_pool3d", lambda lib, x: (
        F(lib).avg_pool3d(x, 2), F(lib).avg_pool3d(x, 3, 2, padding=1, count_include_pad=False),
        F(lib).avg_pool3d(x, 2, 1, ceil_mode=True, divisor_override=5)),
        [(r(1, 2, 4, 4, 4),), (r(2, 3, 4, 4),)], **AVG_POOL),
    Row("lp_pool2d", lambda lib, x: (F(lib).lp_pool2d(x, 2, 2), F(lib).lp_pool2d(x, 3, (2, 3), 1),
                                     F(lib).lp_pool2d(x, 1.5, 2, ceil_mode=True)),
        [(pos(1, 2, 5, 5),), (pos(2, 4, 5),)], **AVG_POOL),
    Row("adaptive_avg_pool1d", lambda lib, x: (F(lib).adaptive_avg_pool1d(x, 3),
                                               F(lib).adaptive_avg_pool1d(x, 1)),
        [(r(2, 2, 7),), (r(2, 5),)], **D),
    Row("adaptive_avg_pool2d", lambda lib, x: (F(lib).adaptive_avg_pool2d(x, (2, 3)),
                                               F(lib).adaptive_avg_pool2d(x, (None, 1)),
                                               F(lib).adaptive_avg_pool2d(x, 4)),
        [(r(1, 2, 5, 5),), (nc(1, 2, 5, 5),), (r(2, 4, 5),)], **D),
    Row("adaptive_avg_pool3d", lambda lib, x: (F(lib).adaptive_avg_pool3d(x, (2, 1, 3)),
                                               F(lib).adaptive_avg_pool3d(x, 2)),
        [(r(1, 2, 3, 4, 5),), (r(2, 3, 3, 3),)], **D),
]  # fmt: skip

ROWS = MAX + AVERAGE


@pytest.mark.parametrize("row,sample,backend", backend_cases(ROWS))
def test_row(row, sample, backend):
    check_row(row, sample, backend)
