"""Op table: the dropout family where it is deterministic, in eval mode and with p=0.

Their random training-mode masks cannot be compared with torch draw for draw; the drop rate,
the scaling of kept elements, the shared draws of channel dropout and alpha dropout's kept
mean and variance are checked statistically in tests/nn/test_linear.py
(test_dropout_family) and tests/nn/test_feature_dropout.py.
"""

import pytest

from tests.ops.optable import Row, backend_cases, check_row
from tests.ops.samples import nc, r, reseed

reseed(27)

D = dict(double_backward=True)


def F(lib):
    return lib.nn.functional


def deterministic(name):
    """The function in eval mode, in training mode with p=0, and in place in eval mode."""

    def body(lib, x):
        fn = getattr(F(lib), name)
        return (
            fn(x, 0.4, training=False),
            fn(x, 0.0, training=True),
            fn(x * 1, 0.4, training=False, inplace=True),
        )

    return body


ROWS = [
    Row("dropout", deterministic("dropout"), [(r(3, 4),), (nc(3, 4),), (r(),)], **D),
    Row("dropout_default_training_p0", lambda lib, x: F(lib).dropout(x, 0.0), [(r(3, 4),)],
        **D),
    Row("alpha_dropout", deterministic("alpha_dropout"), [(r(3, 4),)], **D),
    Row("alpha_dropout_default_eval", lambda lib, x: F(lib).alpha_dropout(x), [(r(3, 4),)],
        **D),
    Row("feature_alpha_dropout", deterministic("feature_alpha_dropout"), [(r(2, 3, 2, 2),)],
        **D),
    Row("dropout1d", deterministic("dropout1d"), [(r(2, 3, 4),), (r(3, 4),)], **D),
    Row("dropout2d", deterministic("dropout2d"), [(r(2, 3, 2, 2),), (r(3, 2, 2),)], **D),
    Row("dropout3d", deterministic("dropout3d"), [(r(2, 3, 2, 1, 2),), (r(3, 2, 1, 2),)],
        **D),
]  # fmt: skip


@pytest.mark.parametrize("row,sample,backend", backend_cases(ROWS))
def test_row(row, sample, backend):
    check_row(row, sample, backend)
