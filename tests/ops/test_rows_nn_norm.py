"""Op table: batch, layer, group, instance, local response and RMS normalization, and
normalize. Rows that update running statistics also return them, so the update is checked."""

import pytest

from tests.ops.optable import Row, backend_cases, check_row
from tests.ops.samples import nc, pos, r, reseed

reseed(22)

D = dict(double_backward=True)
STATS = dict(nondiff_args=(1, 2), **D)  # running mean and variance are buffers
BATCH = ("batch_norm_forward", "batch_norm_backward")
LAYER = ("layer_norm_forward", "layer_norm_backward")
GROUP = ("group_norm_forward", "group_norm_backward")  # instance norm too


def F(lib):
    return lib.nn.functional


def _batch_norm_train(lib, x, mean, var, w, b):
    return F(lib).batch_norm(x, mean, var, w, b, training=True, momentum=0.3, eps=1e-3)


def _instance_norm_stats(lib, x, mean, var, w, b):
    return F(lib).instance_norm(x, mean, var, w, b, use_input_stats=True, momentum=0.2)


def _updated_stats(norm):
    """The running statistics after one call: a row of its own, since numerical gradients
    would see the buffers move on every call."""

    def updated(lib, x, mean, var, w, b):
        norm(lib, x, mean, var, w, b)
        return mean, var

    return updated


ROWS = [
    Row("batch_norm_train", _batch_norm_train,
        [(r(4, 3), r(3), pos(3), r(3), r(3)), (r(2, 3, 4), r(3), pos(3), r(3), r(3)),
         (nc(2, 3, 2, 2), r(3), pos(3), r(3), r(3))], kernels=BATCH, **STATS),
    Row("batch_norm_running_stats", _updated_stats(_batch_norm_train),
        [(r(4, 3), r(3), pos(3), r(3), r(3)), (r(2, 3, 4), r(3), pos(3), r(3), r(3))],
        grad=False, kernels=BATCH[:1]),
    Row("batch_norm_train_no_stats", lambda lib, x: F(lib).batch_norm(
        x, None, None, training=True), [(r(3, 2, 4),)], kernels=BATCH, **D),
    Row("batch_norm_eval", lambda lib, x, mean, var, w, b: F(lib).batch_norm(
        x, mean, var, w, b, eps=1e-2), [(r(2, 3, 4), r(3), pos(3), r(3), r(3))], **STATS),
    Row("layer_norm", lambda lib, x, w, b: (F(lib).layer_norm(x, (4,), w, b),
                                            F(lib).layer_norm(x, (4,), eps=1e-3)),
        [(r(3, 4), r(4), r(4)), (nc(2, 3, 4), r(4), r(4))], kernels=LAYER, **D),
    Row("layer_norm_2d_shape", lambda lib, x, w: F(lib).layer_norm(x, (3, 4), w),
        [(r(2, 3, 4), r(3, 4))], kernels=LAYER, **D),
    Row("group_norm", lambda lib, x, w, b: (F(lib).group_norm(x, 2, w, b),
                                            F(lib).group_norm(x, 4, eps=1e-3)),
        [(r(2, 4, 3), r(4), r(4)), (r(2, 4, 2, 2), r(4), r(4))], kernels=GROUP, **D),
    Row("instance_norm", lambda lib, x, w, b: (F(lib).instance_norm(x, weight=w, bias=b),
                                               F(lib).instance_norm(x, eps=1e-3)),
        [(r(2, 3, 4), r(3), r(3)), (r(2, 3, 2, 3), r(3), r(3))], kernels=GROUP, **D),
    Row("instance_norm_running_stats", _instance_norm_stats,
        [(r(2, 3, 4), r(3), pos(3), r(3), r(3))], kernels=GROUP, **STATS),
    Row("instance_norm_running_stats_update", _updated_stats(_instance_norm_stats),
        [(r(2, 3, 4), r(3), pos(3), r(3), r(3))], grad=False, kernels=GROUP[:1]),
    Row("instance_norm_eval_stats", lambda lib, x, mean, var: F(lib).instance_norm(
        x, mean, var, use_input_stats=False), [(r(2, 3, 4), r(3), pos(3))],
        nondiff_args=(1, 2), **D),
    Row("local_response_norm", lambda lib, x: (F(lib).local_response_norm(x, 3),
                                               F(lib).local_response_norm(x, 2, 0.1, 0.5, 2.0)),
        [(r(2, 5, 3),), (r(1, 4, 2, 3),), (r(1, 3, 2, 2, 2),)], **D),
    Row("rms_norm", lambda lib, x, w: (F(lib).rms_norm(x, (4,), w),
                                       F(lib).rms_norm(x, (3, 4), eps=1e-3)),
        [(r(2, 3, 4), r(4)), (nc(2, 3, 4), r(4))], **D),
    Row("normalize", lambda lib, x: (F(lib).normalize(x), F(lib).normalize(x, p=1, dim=0),
                                     F(lib).normalize(x, p=3, dim=-1, eps=1e-3)),
        [(r(3, 4),), (nc(2, 3, 4),)], **D),
]  # fmt: skip


@pytest.mark.parametrize("row,sample,backend", backend_cases(ROWS))
def test_row(row, sample, backend):
    check_row(row, sample, backend)
