"""Loss functions; cross-entropy with class indices is one fused, stable op."""

import numpy as np

from ember._ops.activation import log_softmax, softplus
from ember._ops.elementwise import where
from ember._tensor import Tensor, wrap
from ember.autograd.function import ArrayFunction

__all__ = [
    "cross_entropy",
    "nll_loss",
    "mse_loss",
    "l1_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "huber_loss",
    "smooth_l1_loss",
    "kl_div",
    "cosine_embedding_loss",
    "margin_ranking_loss",
    "triplet_margin_loss",
    "hinge_embedding_loss",
    "soft_margin_loss",
    "multilabel_soft_margin_loss",
    "multi_margin_loss",
    "poisson_nll_loss",
    "gaussian_nll_loss",
]


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _legacy_reduction(size_average, reduce, reduction):
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return "none" if not reduce else ("mean" if size_average else "sum")


class _IndexCrossEntropy(ArrayFunction):
    """Cross-entropy of (N, C) logits against N class indices, with weights, ignored
    indices and label smoothing: loss_i = -sum_c A[i, c] * log_softmax(x)[i, c]."""

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, smoothing, reduction):
        n, c = x.shape
        shifted = x - x.max(axis=1, keepdims=True)
        logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        keep = target != ignore_index
        safe_t = np.where(keep, target, 0)
        w = np.ones(c, x.dtype) if weight is None else weight.astype(x.dtype, copy=False)
        coef = np.zeros((n, c), x.dtype)
        rows = np.arange(n)
        coef[rows, safe_t] = (1 - smoothing) * w[safe_t]
        if smoothing:
            coef += (smoothing / c) * w
        coef *= keep[:, None]
        per_row = -(coef * logp).sum(axis=1)
        if reduction == "mean":
            denom = (w[safe_t] * keep).sum()
            out = np.asarray(per_row.sum() / denom, x.dtype)
        elif reduction == "sum":
            denom = 1.0
            out = np.asarray(per_row.sum(), x.dtype)
        else:
            denom = None
            out = per_row.astype(x.dtype, copy=False)
        ctx.coef, ctx.denom, ctx.reduction = coef, denom, reduction
        ctx.save_for_backward(logp)
        return out

    @staticmethod
    def backward(ctx, g):
        (logp,) = ctx.saved_tensors
        coef = wrap(ctx.coef)
        row_sum = wrap(ctx.coef.sum(axis=1, keepdims=True))
        d = logp.exp() * row_sum - coef
        if ctx.reduction == "none":
            return d * g.unsqueeze(1), None, None, None, None, None
        return d * (g / ctx.denom), None, None, None, None, None


def _class_last(input):
    """(N, C, d1, ...) -> (N * d1 * ..., C); (C,) -> (1, C)."""
    if input.dim() == 1:
        return input.unsqueeze(0)
    if input.dim() == 2:
        return input
    return input.movedim(1, -1).reshape(-1, input.shape[1])


def _check_ce_shapes(input, target, op):
    if input.dim() == 0:
        raise ValueError(f"{op}: input must have at least 1 dimension")
    n_expected = tuple(input.shape[:1]) + tuple(input.shape[2:]) if input.dim() > 1 else ()
    if tuple(target.shape) != n_expected:
        raise ValueError(
            f"Expected input batch_size ({input.shape[0] if input.dim() > 1 else 1}) to match "
            f"target batch_size ({target.shape[0] if target.dim() else 1}): input "
            f"{list(input.shape)}, target {list(target.shape)} ({op})"
        )


def cross_entropy(
    input,
    target,
    weight=None,
    size_average=None,
    ignore_index=-100,
    reduce=None,
    reduction="mean",
    label_smoothing=0.0,
):
    """Cross-entropy of logits against class indices or class probabilities."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    c = input.shape[1] if input.dim() > 1 else input.shape[0]
    if target.is_floating_point():
        if tuple(target.shape) != tuple(input.shape):
            raise RuntimeError(
                f"cross_entropy: class-probability target must have the input's shape; got "
                f"input {list(input.shape)} and target {list(target.shape)}"
            )
        logp = log_softmax(input, 1 if input.dim() > 1 else 0)
        t = target * (1 - label_smoothing) + label_smoothing / c
        if weight is not None:
            shape = [1] * input.dim()
            shape[1 if input.dim() > 1 else 0] = c
            t = t * weight.reshape(shape)
        loss = -(t * logp).sum(1 if input.dim() > 1 else 0)
        if reduction == "mean":
            return loss.sum() / (loss.numel() if input.dim() > 1 else 1)
        return _reduce(loss, reduction)
    _check_ce_shapes(input, target, "cross_entropy")
    tgt = target._data.reshape(-1)
    if tgt.dtype.kind not in "iu":
        raise RuntimeError(f"expected scalar type Long but found {target.dtype.name.capitalize()}")
    bad = (tgt != ignore_index) & ((tgt < 0) | (tgt >= c))
    if bad.any():
        raise IndexError(f"Target {int(tgt[bad][0])} is out of bounds for {c} classes.")
    w = weight._data if weight is not None else None
    loss = _IndexCrossEntropy.apply(
        _class_last(input), tgt, w, ignore_index, label_smoothing, reduction
    )
    if reduction == "none":
        return loss.reshape(target.shape)
    return loss


def nll_loss(
    input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"
):
    """Negative log-likelihood of log-probabilities ``input`` at the target classes."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_ce_shapes(input, target, "nll_loss")
    x = _class_last(input)
    tgt = target._data.reshape(-1)
    c = x.shape[1]
    keep = tgt != ignore_index
    if ((tgt < 0) | (tgt >= c))[keep].any():
        raise IndexError(f"Target {int(tgt[keep & ((tgt < 0) | (tgt >= c))][0])} is out of bounds.")
    safe = np.where(keep, tgt, 0)
    w = np.ones(c, x._data.dtype) if weight is None else weight._data
    wt = wrap((w[safe] * keep).astype(x._data.dtype))
    picked = x.gather(1, wrap(safe.reshape(-1, 1))).squeeze(1)
    loss = -picked * wt
    if reduction == "mean":
        return loss.sum() / wt.sum()
    if reduction == "none":
        return loss.reshape(target.shape)
    return loss.sum()


def _check_same_shape(input, target, op):
    if tuple(input.shape) != tuple(target.shape):
        import warnings

        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            stacklevel=3,
        )


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    _check_same_shape(input, target, "mse_loss")
    d = input - target
    return _reduce(d * d, _legacy_reduction(size_average, reduce, reduction))


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    _check_same_shape(input, target, "l1_loss")
    return _reduce((input - target).abs(), _legacy_reduction(size_average, reduce, reduction))


def binary_cross_entropy(
    input, target, weight=None, size_average=None, reduce=None, reduction="mean"
):
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}) is deprecated. Please ensure they have the same size."
        )
    d = input._data
    if d.size and (d.min() < 0 or d.max() > 1):
        raise RuntimeError("all elements of input should be between 0 and 1")
    log_p = input.log().clamp(min=-100)
    log_q = (1 - input).log().clamp(min=-100)
    loss = -(target * log_p + (1 - target) * log_q)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, _legacy_reduction(size_average, reduce, reduction))


def binary_cross_entropy_with_logits(
    input, target, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None
):
    """Sigmoid and binary cross-entropy in one stable expression."""
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(
            f"Target size ({target.shape}) must be the same as input size ({input.shape})"
        )
    log_sig = -softplus(-input)  # log(sigmoid(x))
    log_one_minus = -softplus(input)  # log(1 - sigmoid(x))
    if pos_weight is not None:
        loss = -(pos_weight * target * log_sig + (1 - target) * log_one_minus)
    else:
        loss = -(target * log_sig + (1 - target) * log_one_minus)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, _legacy_reduction(size_average, reduce, reduction))


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    d = (input - target).abs()
    loss = where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta))
    return _reduce(loss, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    d = (input - target).abs()
    if beta == 0:
        loss = d
    else:
        loss = where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)
    return _reduce(loss, _legacy_reduction(size_average, reduce, reduction))


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    if log_target:
        loss = target.exp() * (target - input)
    else:
        safe = where(target > 0, target, target * 0 + 1)
        loss = where(target > 0, target * (safe.log() - input), target * 0)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.dim() else loss.sum()
    return _reduce(loss, reduction)


def cosine_embedding_loss(
    input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"
):
    from ember._ops.nn_misc import cosine_similarity

    cos = cosine_similarity(input1, input2, dim=-1, eps=1e-12)
    loss = where(target == 1, 1 - cos, (cos - margin).clamp(min=0))
    return _reduce(loss, _legacy_reduction(size_average, reduce, reduction))


def margin_ranking_loss(
    input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"
):
    loss = (-target * (input1 - input2) + margin).clamp(min=0)
    return _reduce(loss, _legacy_reduction(size_average, reduce, reduction))


def triplet_margin_loss(
    anchor,
    positive,
    negative,
    margin=1.0,
    p=2,
    eps=1e-6,
    swap=False,
    size_average=None,
    reduce=None,
    reduction="mean",
):
    from ember._ops.nn_misc import pairwise_distance

    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        from ember._ops.elementwise import minimum

        d_neg = minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    loss = (d_pos - d_neg + margin).clamp(min=0)
    return _reduce(loss, _legacy_reduction(size_average, reduce, reduction))


def hinge_embedding_loss(
    input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"
):
    loss = where(target == 1, input, (margin - input).clamp(min=0))
    return _reduce(loss, _legacy_reduction(size_average, reduce, reduction))


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    loss = softplus(-target * input)
    return _reduce(loss, _legacy_reduction(size_average, reduce, reduction))


def multilabel_soft_margin_loss(
    input, target, weight=None, size_average=None, reduce=None, reduction="mean"
):
    loss = -(target * -softplus(-input) + (1 - target) * -softplus(input))
    if weight is not None:
        loss = loss * weight
    loss = loss.mean(-1)
    return _reduce(loss, _legacy_reduction(size_average, reduce, reduction))


def multi_margin_loss(
    input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None, reduction="mean"
):
    x = input if input.dim() == 2 else input.unsqueeze(0)
    t = target.reshape(-1)
    c = x.shape[1]
    picked = x.gather(1, t.reshape(-1, 1))
    m = (margin - picked + x).clamp(min=0)
    if p == 2:
        m = m * m
    if weight is not None:
        m = m * weight[t].reshape(-1, 1)
    not_target = wrap(np.arange(c)[None, :] != t._data[:, None])
    loss = (m * not_target.to(m.dtype)).sum(1) / c
    if input.dim() == 1:
        loss = loss.squeeze(0)
    return _reduce(loss, _legacy_reduction(size_average, reduce, reduction))


def poisson_nll_loss(
    input,
    target,
    log_input=True,
    full=False,
    size_average=None,
    eps=1e-8,
    reduce=None,
    reduction="mean",
):
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        t = target
        stirling = t * t.clamp(min=1).log() - t + 0.5 * (2 * np.pi * t.clamp(min=1)).log()
        loss = loss + where(t > 1, stirling, t * 0)
    return _reduce(loss, _legacy_reduction(size_average, reduce, reduction))


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    if isinstance(var, Tensor) and var.dim() == input.dim() - 1:
        var = var.unsqueeze(-1)
    v = var.clamp(min=eps)
    loss = 0.5 * (v.log() + (input - target) ** 2 / v)
    if full:
        loss = loss + 0.5 * np.log(2 * np.pi)
    return _reduce(loss, reduction)
