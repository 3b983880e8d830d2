"""Op table: convolutions in 1, 2 and 3 dimensions, their transposes, unfold and fold.

The convolution rows name the registry kernels they run, so each is checked once per backend
that implements them: a 2-D convolution's first derivatives come from one kernel computing
both gradients; the transposes run the three kernels of the convolution triangle.
"""

import pytest

from tests.ops.optable import Row, backend_cases, check_row
from tests.ops.samples import nc, r, reseed

reseed(20)

D = dict(double_backward=True)
CONV2D = dict(kernels=("conv2d", "conv2d_backward"), **D)
TRANSPOSED2D = dict(kernels=("conv2d", "conv2d_grad_input", "conv2d_grad_weight"), **D)
CONV3D = dict(kernels=("conv3d", "conv3d_grad_input", "conv3d_grad_weight"), **D)
UNFOLD = dict(kernels=("conv2d", "conv2d_grad_input"), **D)  # unfold is a convolution


def F(lib):
    return lib.nn.functional


def _channels_last(lib, x):
    return x.contiguous(memory_format=lib.channels_last)


ROWS = [
    Row("conv1d", lambda lib, x, w, b: F(lib).conv1d(x, w, b, stride=2, padding=1),
        [(r(2, 2, 5), r(3, 2, 3), r(3)), (nc(2, 2, 5), r(3, 2, 3), r(3))], **CONV2D),
    Row("conv1d_dilated_groups", lambda lib, x, w: F(lib).conv1d(x, w, dilation=2, groups=2),
        [(r(1, 4, 6), r(4, 2, 2))], **CONV2D),
    Row("conv1d_same", lambda lib, x, w: F(lib).conv1d(x, w, padding="same", dilation=2),
        [(r(1, 2, 5), r(2, 2, 3)), (r(2, 5), r(2, 2, 2))], **CONV2D),
    Row("conv2d", lambda lib, x, w, b: F(lib).conv2d(x, w, b, padding=1),
        [(r(1, 2, 4, 4), r(3, 2, 3, 3), r(3)), (nc(1, 2, 4, 4), r(3, 2, 3, 3), r(3)),
         (r(2, 4, 4), r(3, 2, 3, 3), r(3))], **CONV2D),
    Row("conv2d_strided_dilated", lambda lib, x, w: F(lib).conv2d(
        x, w, stride=(2, 1), padding=(0, 1), dilation=(1, 2)), [(r(2, 2, 5, 5), r(2, 2, 2, 2))],
        **CONV2D),
    Row("conv2d_groups", lambda lib, x, w, b: F(lib).conv2d(x, w, b, groups=2),
        [(r(1, 4, 4, 3), r(4, 2, 2, 2), r(4))], **CONV2D),
    Row("conv2d_same_valid", lambda lib, x, w: (F(lib).conv2d(x, w, padding="same"),
                                                F(lib).conv2d(x, w, padding="valid")),
        [(r(1, 2, 4, 5), r(2, 2, 2, 3))], **CONV2D),
    Row("conv2d_channels_last", lambda lib, x, w: F(lib).conv2d(_channels_last(lib, x), w),
        [(r(2, 3, 4, 4), r(2, 3, 2, 2))], **CONV2D),
    Row("conv3d", lambda lib, x, w, b: F(lib).conv3d(x, w, b, padding=1),
        [(r(1, 2, 3, 3, 3), r(2, 2, 2, 2, 2), r(2))], **CONV3D),
    Row("conv3d_strided_groups", lambda lib, x, w: F(lib).conv3d(x, w, stride=2, groups=2),
        [(r(1, 2, 4, 3, 3), r(2, 1, 2, 2, 2)), (r(2, 4, 3, 3), r(2, 1, 2, 2, 2))], **CONV3D),
    Row("conv_transpose1d", lambda lib, x, w, b: F(lib).conv_transpose1d(
        x, w, b, stride=2, padding=1, output_padding=1), [(r(2, 2, 4), r(2, 3, 3), r(3))],
        **TRANSPOSED2D),
    Row("conv_transpose1d_groups_dilated", lambda lib, x, w: F(lib).conv_transpose1d(
        x, w, groups=2, dilation=2), [(r(1, 4, 3), r(4, 1, 2)), (r(4, 3), r(4, 1, 2))],
        **TRANSPOSED2D),
    Row("conv_transpose2d", lambda lib, x, w, b: F(lib).conv_transpose2d(
        x, w, b, stride=2, padding=1, output_padding=1), [(r(1, 2, 3, 3), r(2, 3, 3, 3), r(3))],
        **TRANSPOSED2D),
    Row("conv_transpose2d_groups_dilated", lambda lib, x, w: F(lib).conv_transpose2d(
        x, w, stride=(1, 2), padding=(0, 1), dilation=2, groups=2),
        [(r(2, 4, 3, 3), r(4, 1, 2, 2))], **TRANSPOSED2D),
    Row("conv_transpose3d", lambda lib, x, w, b: F(lib).conv_transpose3d(
        x, w, b, stride=2, padding=1, output_padding=1),
        [(r(1, 2, 2, 2, 2), r(2, 2, 2, 2, 2), r(2))], **CONV3D),
    Row("unfold", lambda lib, x: (F(lib).unfold(x, 2, padding=1, stride=2),
                                  F(lib).unfold(x, (2, 3), dilation=(1, 2))),
        [(r(1, 2, 4, 5),), (r(2, 4, 5),)], **UNFOLD),
    Row("fold", lambda lib, x: (F(lib).fold(x, (3, 4), 2),
                                F(lib).fold(x, (3, 5), 2, padding=(0, 1), stride=(1, 2))),
        [(r(2, 8, 6),), (r(8, 6),)], **UNFOLD),
]  # fmt: skip


@pytest.mark.parametrize("row,sample,backend", backend_cases(ROWS))
def test_row(row, sample, backend):
    check_row(row, sample, backend)
