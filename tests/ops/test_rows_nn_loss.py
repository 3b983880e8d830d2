"""Op table: every loss of nn.functional, each under the reductions 'none', 'mean' and 'sum'.

Regression targets are differentiated like the inputs; labels (class indices, the -1/1 of
margin losses) are not.
"""

import numpy as np
import pytest

from tests.ops.optable import Row, backend_cases, check_row
from tests.ops.samples import labels, nc, pos, prob, r, reseed, signs

reseed(24)

D = dict(double_backward=True)
LABELS = dict(nondiff_args=(1,), **D)  # the second input is a label
REDUCTIONS = ("none", "mean", "sum")
CE = dict(kernels=("cross_entropy_forward", "cross_entropy_backward"), **D)


def F(lib):
    return lib.nn.functional


def reduced(loss, **kwargs):
    """A row body returning the loss under each reduction."""
    return lambda lib, *xs: tuple(
        loss(F(lib), *xs, reduction=red, **kwargs) for red in REDUCTIONS
    )  # fmt: skip


def _weighted(loss):
    """A row body for a loss whose last input is a per-element or per-class weight."""
    return lambda lib, *xs: tuple(
        loss(F(lib), *xs[:-1], weight=xs[-1], reduction=red) for red in REDUCTIONS
    )  # fmt: skip


REGRESSION = [
    Row("l1_loss", reduced(lambda F, x, t, **k: F.l1_loss(x, t, **k)),
        [(r(3, 4), r(3, 4)), (nc(3, 4), r(4)), (r(), r())], **D),
    Row("l1_loss_weighted", _weighted(lambda F, x, t, **k: F.l1_loss(x, t, **k)),
        [(r(3, 4), r(3, 4), pos(3, 4))], **D),
    Row("mse_loss", reduced(lambda F, x, t, **k: F.mse_loss(x, t, **k)),
        [(r(3, 4), r(3, 4)), (nc(3, 4), r(4)), (r(0, 2), r(0, 2))], **D),
    Row("mse_loss_weighted", _weighted(lambda F, x, t, **k: F.mse_loss(x, t, **k)),
        [(r(3, 4), r(3, 4), pos(3, 4))], **D),
    Row("huber_loss", reduced(lambda F, x, t, **k: (F.huber_loss(x, t, **k),
                                                    F.huber_loss(x, t, delta=0.4, **k))),
        [(r(3, 4), r(3, 4)), (r(5), r(5))], **D),
    Row("huber_loss_weighted", _weighted(lambda F, x, t, **k: F.huber_loss(x, t, **k)),
        [(r(3, 4), r(3, 4), pos(3, 4))], **D),
    Row("smooth_l1_loss", reduced(lambda F, x, t, **k: (F.smooth_l1_loss(x, t, **k),
                                                        F.smooth_l1_loss(x, t, beta=0.4, **k),
                                                        F.smooth_l1_loss(x, t, beta=0.0, **k))),
        [(r(3, 4), r(3, 4))], **D),
    Row("gaussian_nll_loss", reduced(lambda F, x, t, v, **k: (
        F.gaussian_nll_loss(x, t, v, **k), F.gaussian_nll_loss(x, t, v, full=True, **k))),
        [(r(3, 4), r(3, 4), pos(3, 4)), (r(3, 4), r(3, 4), pos(3, 1)), (r(3, 4), r(3, 4), pos(3))],
        **D),
    Row("poisson_nll_loss", reduced(lambda F, x, t, **k: (
        F.poisson_nll_loss(x, t, **k), F.poisson_nll_loss(x.exp(), t, log_input=False, **k),
        F.poisson_nll_loss(x, t * 3, full=True, **k))),
        [(r(3, 4), pos(3, 4))], **D),
    Row("kl_div", reduced(lambda F, x, t, **k: (
        F.kl_div(x.log_softmax(1), t.softmax(1), **k),
        F.kl_div(x.log_softmax(1), t.log_softmax(1), log_target=True, **k))),
        [(r(3, 4), r(3, 4))], **D),
    Row("kl_div_batchmean", lambda lib, x, t: F(lib).kl_div(
        x.log_softmax(1), t.softmax(1), reduction="batchmean"), [(r(3, 4), r(3, 4))], **D),
]  # fmt: skip

BINARY = [
    Row("binary_cross_entropy", reduced(lambda F, x, t, **k: F.binary_cross_entropy(x, t, **k)),
        [(prob(3, 4), prob(3, 4)), (prob(5), prob(5))], **D),
    Row("binary_cross_entropy_weighted", _weighted(
        lambda F, x, t, **k: F.binary_cross_entropy(x, t, **k)),
        [(prob(3, 4), prob(3, 4), pos(4))], nondiff_args=(2,), **D),  # torch: weight has no grad
    Row("binary_cross_entropy_with_logits", reduced(
        lambda F, x, t, **k: F.binary_cross_entropy_with_logits(x, t, **k)),
        [(r(3, 4), prob(3, 4)), (nc(3, 4), prob(3, 4))], **D),
    Row("binary_cross_entropy_with_logits_weights", reduced(
        lambda F, x, t, w, pw, **k: F.binary_cross_entropy_with_logits(
            x, t, weight=w, pos_weight=pw, **k)),
        [(r(3, 4), prob(3, 4), pos(3, 1), pos(4))], nondiff_args=(2, 3), **D),
    Row("soft_margin_loss", reduced(lambda F, x, t, **k: F.soft_margin_loss(x, t, **k)),
        [(r(3, 4), signs(3, 4))], **LABELS),
    Row("hinge_embedding_loss", reduced(lambda F, x, t, **k: (
        F.hinge_embedding_loss(x, t, **k), F.hinge_embedding_loss(x, t, margin=0.3, **k))),
        [(r(3, 4), signs(3, 4))], **LABELS),
    Row("multilabel_soft_margin_loss", reduced(
        lambda F, x, t, **k: F.multilabel_soft_margin_loss(x, t, **k)),
        [(r(3, 4), (prob(3, 4) > 0.5).astype(float))], **LABELS),
    Row("multilabel_soft_margin_loss_weighted", lambda lib, x, t, w: F(lib).
        multilabel_soft_margin_loss(x, t, weight=w),
        [(r(3, 4), (prob(3, 4) > 0.5).astype(float), pos(4))], **LABELS),
]  # fmt: skip

CLASSIFICATION = [
    Row("cross_entropy", reduced(lambda F, x, t, **k: (
        F.cross_entropy(x, t, **k), F.cross_entropy(x, t, label_smoothing=0.2, **k))),
        [(r(4, 5), labels(4, classes=5)), (r(2, 5, 3), labels(2, 3, classes=5)),
         (r(5), labels(classes=5))], **CE),
    Row("cross_entropy_weight_ignore", lambda lib, x, t, w: tuple(
        F(lib).cross_entropy(x, t, weight=w, ignore_index=2, reduction=red,
                             label_smoothing=s) for red in REDUCTIONS for s in (0.0, 0.1)),
        [(r(5, 4), np.array([0, 2, 3, 1, 2]), pos(4))], nondiff_args=(2,), **CE),
    Row("cross_entropy_probabilities", reduced(lambda F, x, t, **k: (
        F.cross_entropy(x, t.softmax(1), **k),
        F.cross_entropy(x, t.softmax(1), label_smoothing=0.3, **k))),
        [(r(4, 5), r(4, 5)), (r(2, 5, 3), r(2, 5, 3))], **CE),
    Row("nll_loss", reduced(lambda F, x, t, **k: F.nll_loss(x.log_softmax(-x.dim() + 1), t, **k)),
        [(r(4, 5), labels(4, classes=5)), (r(2, 5, 2, 3), labels(2, 2, 3, classes=5)),
         (r(5), labels(classes=5))], **CE),
    Row("nll_loss_weight_ignore", lambda lib, x, t, w: tuple(
        F(lib).nll_loss(x, t, weight=w, ignore_index=1, reduction=red) for red in REDUCTIONS),
        [(r(5, 4), np.array([0, 1, 3, 1, 2]), pos(4))], nondiff_args=(2,), **CE),
    Row("multi_margin_loss", reduced(lambda F, x, t, **k: (
        F.multi_margin_loss(x, t, **k), F.multi_margin_loss(x, t, p=2, margin=0.5, **k))),
        [(r(4, 5), labels(4, classes=5)), (r(5), labels(classes=5))]),  # torch: no double backward
    Row("multi_margin_loss_weighted", lambda lib, x, t, w: F(lib).multi_margin_loss(
        x, t, weight=w), [(r(4, 5), labels(4, classes=5), pos(5))], nondiff_args=(2,)),
    Row("multilabel_margin_loss", reduced(
        lambda F, x, t, **k: F.multilabel_margin_loss(x, t, **k)),
        [(r(3, 4), np.array([[3, 0, -1, 1], [1, 2, 3, 0], [-1, 0, 0, 0]])),
         (r(4), np.array([2, 0, -1, 3]))]),  # torch: no double backward
]  # fmt: skip

PAIRS = [
    Row("margin_ranking_loss", lambda lib, a, b, t: tuple(
        F(lib).margin_ranking_loss(a, b, t, margin=m, reduction=red)
        for red in REDUCTIONS for m in (0.0, 0.4)), [(r(6), r(6), signs(6))],
        nondiff_args=(2,), **D),
    Row("cosine_embedding_loss", lambda lib, a, b, t: tuple(
        F(lib).cosine_embedding_loss(a, b, t, margin=m, reduction=red)
        for red in REDUCTIONS for m in (0.0, 0.3)), [(r(4, 3), r(4, 3), signs(4)),
                                                     (r(3), r(3), signs())],
        nondiff_args=(2,), **D),
    Row("triplet_margin_loss", reduced(lambda F, a, p, n, **k: (
        F.triplet_margin_loss(a, p, n, **k),
        F.triplet_margin_loss(a, p, n, margin=0.5, p=1, swap=True, **k))),
        [(r(4, 3), r(4, 3), r(4, 3)), (r(3), r(3), r(3))], **D),
]  # fmt: skip


def _ctc(lib, x, targets, input_lengths, target_lengths, **kwargs):
    return tuple(
        F(lib).ctc_loss(x.log_softmax(2), targets, input_lengths, target_lengths,
                        reduction=red, **kwargs) for red in REDUCTIONS
    )  # fmt: skip


SEQUENCE = [  # torch has no double backward for ctc_loss
    Row("ctc_loss_padded_targets", lambda lib, x, t: _ctc(lib, x, t, (5, 4), (3, 2)),
        [(r(5, 2, 4), np.array([[1, 2, 2], [3, 1, 0]]))]),
    Row("ctc_loss_concatenated_targets", lambda lib, x, t, il, tl: _ctc(
        lib, x, t, il, tl, blank=3), [(r(5, 2, 4), np.array([0, 1, 1, 2, 0]), np.array([5, 3]),
                                      np.array([3, 2]))]),
    Row("ctc_loss_unbatched", lambda lib, x, t: _ctc(lib, x.unsqueeze(1), t.unsqueeze(0), (4,),
                                                     (2,))[1:], [(r(4, 3), np.array([1, 2]))]),
    Row("ctc_loss_zero_infinity", lambda lib, x, t: _ctc(lib, x, t, (2, 4), (3, 1),
                                                         zero_infinity=True),
        [(r(4, 2, 3), np.array([[1, 1, 2], [2, 0, 0]]))]),  # the first is impossible: inf
]  # fmt: skip

ROWS = REGRESSION + BINARY + CLASSIFICATION + PAIRS + SEQUENCE


@pytest.mark.parametrize("row,sample,backend", backend_cases(ROWS))
def test_row(row, sample, backend):
    check_row(row, sample, backend)
