"""Op table: power-average pooling in 1 and 3 dimensions, the ``*_with_indices`` pools,
fractional max pooling (with fixed samples), pdist, the triplet loss with a distance function,
the in-place activations and Gumbel-softmax (saturated, so that its noise cannot change the
result; tests/nn/test_nn_extra.py checks its distribution)."""

import numpy as np
import pytest

from tests.ops.optable import Row, backend_cases, check_row
from tests.ops.samples import distinct, pos, r, reseed

reseed(37)

D = dict(double_backward=True)


def F(lib):
    return lib.nn.functional


def _samples(*shape):
    return np.random.default_rng(5).random(shape)


def _triplet(lib, a, p, n):
    def cosine(x, y):
        return 1 - F(lib).cosine_similarity(x, y)

    return (
        F(lib).triplet_margin_with_distance_loss(a, p, n),
        F(lib).triplet_margin_with_distance_loss(
            a, p, n, distance_function=cosine, margin=0.5, swap=True, reduction="none"
        ),
    )


def _gumbel(lib, x):
    return (
        F(lib).gumbel_softmax(x * 1e4, hard=True),
        F(lib).gumbel_softmax(x * 1e4, tau=0.5, dim=0),
    )


ROWS = [
    Row("lp_pool1d", lambda lib, x: (F(lib).lp_pool1d(x, 2, 3, 2),
                                     F(lib).lp_pool1d(x, 1.5, 2, ceil_mode=True)),
        [(pos(2, 2, 7),), (pos(3, 6),)], **D),
    Row("lp_pool3d", lambda lib, x: (F(lib).lp_pool3d(x, 2, 2),
                                     F(lib).lp_pool3d(x, 3, (2, 1, 2), 1)),
        [(pos(1, 2, 4, 4, 4),), (pos(2, 3, 4, 4),)], **D),
    Row("max_pool1d_with_indices", lambda lib, x: F(lib).max_pool1d_with_indices(x, 3, 2, 1),
        [(distinct(2, 2, 7),)], **D),
    Row("max_pool2d_with_indices", lambda lib, x: F(lib).max_pool2d_with_indices(x, 2),
        [(distinct(1, 2, 4, 4),)], **D),
    Row("max_pool3d_with_indices", lambda lib, x: F(lib).max_pool3d_with_indices(x, 2, 1),
        [(distinct(1, 2, 3, 3, 3),)], **D),
    Row("adaptive_max_pool1d_with_indices",
        lambda lib, x: F(lib).adaptive_max_pool1d_with_indices(x, 3), [(distinct(2, 2, 7),)],
        **D),
    Row("adaptive_max_pool2d_with_indices",
        lambda lib, x: F(lib).adaptive_max_pool2d_with_indices(x, (2, 3)),
        [(distinct(1, 2, 5, 5),)], **D),
    Row("adaptive_max_pool3d_with_indices",
        lambda lib, x: F(lib).adaptive_max_pool3d_with_indices(x, 2),
        [(distinct(1, 2, 3, 4, 5),)], **D),
    Row("fractional_max_pool2d", lambda lib, x, s: (
        F(lib).fractional_max_pool2d(x, 2, output_size=(3, 4), _random_samples=s),
        F(lib).fractional_max_pool2d_with_indices(x, (3, 2), output_ratio=(0.5, 0.5),
                                                  _random_samples=s)),
        [(distinct(2, 3, 7, 8), _samples(2, 3, 2))], nondiff_args=(1,), **D),
    Row("fractional_max_pool3d", lambda lib, x, s: (
        F(lib).fractional_max_pool3d(x, 2, output_size=(2, 3, 2), _random_samples=s),
        F(lib).fractional_max_pool3d_with_indices(x, 2, output_ratio=0.5, _random_samples=s)),
        [(distinct(1, 2, 5, 6, 5), _samples(1, 2, 3))], nondiff_args=(1,), **D),
    Row("pdist", lambda lib, x: (F(lib).pdist(x), F(lib).pdist(x, 1), F(lib).pdist(x, 3.0)),
        [(r(5, 3),), (r(2, 4),)]),  # torch has no double backward for pdist
    Row("triplet_margin_with_distance_loss", _triplet, [(r(4, 5), r(4, 5), r(4, 5))], **D),
    Row("celu_", lambda lib, x: F(lib).celu_(x * 1.0, 0.5), [(r(3, 4),)], **D),
    Row("selu_", lambda lib, x: F(lib).selu_(x * 1.0), [(r(3, 4),)], **D),
    Row("rrelu_", lambda lib, x: F(lib).rrelu_(x * 1.0, 0.1, 0.3), [(r(3, 4),)], **D),
    Row("gumbel_softmax", _gumbel, [(distinct(3, 5),)]),
]  # fmt: skip


@pytest.mark.parametrize("row,sample,backend", backend_cases(ROWS))
def test_row(row, sample, backend):
    check_row(row, sample, backend)
