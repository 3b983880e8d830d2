"""Loss functions; cross-entropy and nll_loss, in every mode, are one fused, stable op."""

import numpy as np

from ember._ops._first_order import first_order_only
from ember._ops.activation import softplus
from ember._ops.binary_cross_entropy import BinaryCrossEntropy
from ember._ops.elementwise import where
from ember._ops.index import out_of_range
from ember._runtime import get_num_threads
from ember._tensor import Tensor, wrap
from ember.autograd.function import ArrayFunction
from ember.autograd.grad_mode import is_grad_enabled
from ember.backends.numpy.fast_sum import fast_sum
from ember.backends.registry import kernels

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
    "multilabel_margin_loss",
    "ctc_loss",
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


class CrossEntropy(ArrayFunction):
    """Cross-entropy of (M, C) logits, or nll_loss of (M, C) log-probabilities, per row
    loss_i = -sum_c A[i, c] logp[i, c] with the coefficients A formed from the target
    (see `ember/backends/numpy/loss.py`), reduced as ``reduction`` says. The mean divides by
    the summed weights of the kept class indices, or by M for probability targets, as
    PyTorch does.

    The second output is what the backward reads instead of the logits, as PyTorch's
    cross-entropy reads its log_softmax: exp(x - row max) for class-index targets,
    log_softmax(x) for probability targets (``log_kept``), None for nll_loss. It is a
    differentiable output of this node, so derivatives of the backward reach x through it.
    The row max counts as a constant there: the backward reads the exponentials only through
    their ratios (softmax), which do not depend on the shift, so this is exact at any order.
    """

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, smoothing, reduction, from_logits):
        rows, kept, sumexp, total = kernels.cross_entropy_forward(
            x, target, weight, ignore_index, smoothing, from_logits, threads=get_num_threads()
        )
        if reduction == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):  # all ignored: nan, as torch
                out = np.asarray(rows.sum() / total, x.dtype)
            ctx.scale = float(1 / total) if total else float("nan")
        elif reduction == "sum":
            out, ctx.scale = np.asarray(rows.sum(), x.dtype), 1.0
        else:
            out, ctx.scale = rows, None
        ctx.options = (ignore_index, smoothing, x.shape)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(target, weight, kept, sumexp)
        return out, kept

    @staticmethod
    def backward(ctx, g, g_kept):
        target, weight, kept, sumexp = ctx.saved_tensors
        ignore_index, smoothing, (m, classes) = ctx.options
        log_kept = target.dim() == 2
        gx = gt = None
        if g is not None:
            g_rows = g if ctx.scale is None else (g * ctx.scale).expand(m)
            if ctx.needs_input_grad[0]:
                gx = CrossEntropyGrad.apply(
                    g_rows, kept, sumexp, target, weight, ignore_index, smoothing, classes
                )
            if ctx.needs_input_grad[1]:  # d loss_i / d P_i = -(1 - s) w log_softmax(x)_i
                gt = -(1 - smoothing) * kept * g_rows.unsqueeze(1)
                gt = gt if weight is None else gt * weight
        if g_kept is not None and ctx.needs_input_grad[0]:  # through log_softmax or exp
            if log_kept:
                through = g_kept - kept.exp() * g_kept.sum(1, keepdim=True)
            else:
                through = g_kept * kept
            gx = through if gx is None else gx + through
        return gx, gt, None, None, None, None, None


class CrossEntropyGrad(ArrayFunction):
    """d loss / d x of `CrossEntropy` for per-row gradients ``g``, in one kernel pass; its
    own derivatives are written with ember ops: for cross-entropy gx = g (softmax(x) a - A)
    with a = sum_c A, for nll_loss gx = -g A."""

    @staticmethod
    def forward(ctx, g, kept, sumexp, target, weight, ignore_index, smoothing, classes):
        ctx.options = (ignore_index, smoothing, classes)
        ctx.save_for_backward(g, kept, target, weight)
        return kernels.cross_entropy_backward(
            g, kept, sumexp, target, weight, ignore_index, smoothing, classes,
            threads=get_num_threads(),
        )  # fmt: skip

    @staticmethod
    def backward(ctx, ggx):
        g, kept, target, weight = ctx.saved_tensors
        ignore_index, smoothing, classes = ctx.options
        if target.dim() == 1:
            w = None if weight is None else weight._data
            coef = wrap(kernels.class_index_coefficients(
                target._data, w, ignore_index, smoothing, classes, ggx._data.dtype))  # fmt: skip
        else:
            coef = target * (1 - smoothing) + smoothing / classes
            coef = coef if weight is None else coef * weight
        if kept is None:  # nll_loss: linear in g, constant in x
            return -(ggx * coef).sum(1), None, None, None, None, None, None, None
        log_kept = target.dim() == 2
        probs = kept.exp() if log_kept else kept / kept.sum(1, keepdim=True)
        mass = coef.sum(1, keepdim=True)
        d_g = (ggx * (probs * mass - coef)).sum(1)
        d_probs = ggx * (g.unsqueeze(1) * mass)
        # d probs / d kept: probs itself for log_softmax; (I - probs) / sum for exponentials
        if log_kept:
            d_kept = d_probs * probs
        else:
            d_kept = (d_probs - (d_probs * probs).sum(1, keepdim=True)) / kept.sum(1, keepdim=True)
        d_t = None
        if ctx.needs_input_grad[3]:  # through A, both directly and through a = sum_c A
            d_coef = g.unsqueeze(1) * ((ggx * probs).sum(1, keepdim=True) - ggx)
            d_t = d_coef * (1 - smoothing)
            d_t = d_t if weight is None else d_t * weight
        return d_g, d_kept, None, d_t, None, None, None, None


def _class_last(input):
    """(N, C, d1, ...) -> (N * d1 * ..., C); (C,) -> (1, C)."""
    if input.dim() == 1:
        return input.unsqueeze(0)
    if input.dim() == 2:
        return input
    return input.movedim(1, -1).reshape(-1, input.shape[1])


def _batch_shape(input):
    return tuple(input.shape[:1]) + tuple(input.shape[2:]) if input.dim() > 1 else ()


def _check_ce_shapes(input, target, op):
    if input.dim() == 0:
        raise ValueError(f"{op}: input must have at least 1 dimension")
    n_expected = _batch_shape(input)
    if tuple(target.shape) != n_expected:
        raise ValueError(
            f"Expected input batch_size ({input.shape[0] if input.dim() > 1 else 1}) to match "
            f"target batch_size ({target.shape[0] if target.dim() else 1}): input "
            f"{list(input.shape)}, target {list(target.shape)} ({op})"
        )


def _index_target(input, target, c, ignore_index, op):
    """The class-index target as a flat integer array of its own (an in-place change of the
    target after the call cannot reach the backward), after checking shape, dtype and range."""
    _check_ce_shapes(input, target, op)
    tgt = np.array(target._data.reshape(-1))
    if tgt.dtype.kind not in "iu":
        raise RuntimeError(
            f"{op}: expected a target of class indices of type Long (int64), got {target.dtype}"
        )
    if out_of_range(tgt, c) is None:
        return tgt
    bad = (tgt != ignore_index) & ((tgt < 0) | (tgt >= c))  # ignore_index may lie outside
    if bad.any():
        raise IndexError(f"{op}: Target {int(tgt[bad][0])} is out of bounds for {c} classes.")
    return tgt


def _class_weight(weight, c, input, op):
    """The class weights, checked: one per class, not differentiated (as in PyTorch)."""
    if weight is None:
        return None
    if tuple(weight.shape) != (c,):
        raise RuntimeError(
            f"{op}: weight tensor should be defined either for all {c} classes or no classes "
            f"but got weight tensor of shape: {list(weight.shape)} (input {list(input.shape)})"
        )
    return weight.detach() if weight.dtype == input.dtype else weight.detach().to(input.dtype)


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
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if input.dim() == 0:
        raise ValueError("cross_entropy: input must have at least 1 dimension")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    c = input.shape[1] if input.dim() > 1 else input.shape[0]
    weight = _class_weight(weight, c, input, "cross_entropy")
    if target.is_floating_point():
        if tuple(target.shape) != tuple(input.shape):
            raise RuntimeError(
                f"cross_entropy: class-probability target must have the input's shape; got "
                f"input {list(input.shape)} and target {list(target.shape)}"
            )
        loss = CrossEntropy.apply(
            _class_last(input), _class_last(target), weight, ignore_index, label_smoothing,
            reduction, True,
        )[0]  # fmt: skip
        return loss.reshape(_batch_shape(input)) if reduction == "none" else loss
    tgt = _index_target(input, target, c, ignore_index, "cross_entropy")
    loss = CrossEntropy.apply(
        _class_last(input), tgt, weight, ignore_index, label_smoothing, reduction, True
    )[0]
    return loss.reshape(tuple(target.shape)) if reduction == "none" else loss


def nll_loss(
    input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"
):
    """Negative log-likelihood of log-probabilities ``input`` at the target classes."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if input.dim() == 0:
        raise ValueError("nll_loss: input must have at least 1 dimension")
    c = input.shape[1] if input.dim() > 1 else input.shape[0]
    weight = _class_weight(weight, c, input, "nll_loss")
    tgt = _index_target(input, target, c, ignore_index, "nll_loss")
    loss = CrossEntropy.apply(_class_last(input), tgt, weight, ignore_index, 0.0, reduction,
                              False)[0]  # fmt: skip
    return loss.reshape(tuple(target.shape)) if reduction == "none" else loss


def _check_same_shape(input, target, op):
    if tuple(input.shape) != tuple(target.shape):
        import warnings

        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            stacklevel=3,
        )


def _weighted_reduce(loss, weight, reduction, op, weighted_mean=True):
    """Reduce ``weight * loss``; the weighted mean divides by the summed weights."""
    if weight is None:
        return _reduce(loss, reduction)
    if tuple(weight.shape) != tuple(loss.shape):
        raise ValueError(
            f"{op}: Weights and input must have the same size; got weight "
            f"{list(weight.shape)} and input {list(loss.shape)}"
        )
    loss = loss * weight
    if reduction == "mean" and weighted_mean:
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


class _SquaredErrorTotal(ArrayFunction):
    """The mean or sum of (input - target)^2 as one op, for same-shaped float arrays of one
    dtype: one node instead of three, and where the backward is not recorded one pass,
    2 (input - target) g / n, whose negation is the target's gradient."""

    @staticmethod
    def forward(ctx, x, t, mean):
        diff = np.subtract(x, t)
        squares = np.square(diff)
        total = fast_sum(squares, range(squares.ndim), False)
        total = squares.sum() if total is None else total
        ctx.save_for_backward(x, t, diff)
        ctx.scale = 2 / diff.size if mean else 2
        return np.asarray(total / diff.size if mean else total, dtype=diff.dtype)

    @staticmethod
    def backward(ctx, g):
        x, t, diff = ctx.saved_tensors
        if is_grad_enabled():  # recorded: differentiable in x, t and g
            gx = (x - t) * (g * ctx.scale)
        else:
            diff = diff._data
            gx = wrap(np.multiply(diff, np.asarray(g._data * ctx.scale, dtype=diff.dtype)))
        gt = -gx if ctx.needs_input_grad[1] else None
        return gx, gt, None


def _one_fused_total(input, target, weight, reduction):
    """Whether ``_SquaredErrorTotal`` computes this loss: a mean or sum without weights over
    same-shaped, non-empty NumPy float32 or float64 arrays of one dtype."""
    a, b = input._data, target._data
    return (
        weight is None
        and reduction in ("mean", "sum")
        and a.__class__ is np.ndarray
        and b.__class__ is np.ndarray
        and a.dtype == b.dtype
        and a.dtype in (np.float32, np.float64)
        and a.shape == b.shape
        and a.size > 0
    )


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    _check_same_shape(input, target, "mse_loss")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if _one_fused_total(input, target, weight, reduction):
        return _SquaredErrorTotal.apply(input, target, reduction == "mean")
    d = input - target
    return _weighted_reduce(d * d, weight, reduction, "mse_loss")


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    _check_same_shape(input, target, "l1_loss")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    return _weighted_reduce((input - target).abs(), weight, reduction, "l1_loss")


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
    if weight is not None and weight.requires_grad and is_grad_enabled():
        raise RuntimeError(
            "The function 'binary_cross_entropy' is not differentiable with respect to "
            "argument 'weight'. This input cannot have requires_grad True."
        )
    loss = BinaryCrossEntropy.apply(input, target, weight)
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
    _check_same_shape(input, target, "huber_loss")
    d = (input - target).abs()
    loss = where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta))
    return _weighted_reduce(loss, weight, reduction, "huber_loss", weighted_mean=False)


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
    else:  # as PyTorch: nan where the target is 0 and the input -inf, and for d/d target at 0
        from ember._ops.elementwise import xlogy

        loss = xlogy(target, target) - target * input
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
    bad = out_of_range(t._data, c)
    if bad is not None:
        raise RuntimeError(
            f"multi_margin_loss: target out of range: target {bad} for input of {c} classes"
        )
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
    """Negative log-likelihood of ``target`` under N(input, var), var clamped to eps.

    The clamp does not stop the gradient (as PyTorch's, which clamps a copy without grad).
    """
    if not isinstance(var, Tensor):
        var = wrap(np.full(tuple(input.shape), var, input._data.dtype))
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (tuple(input.shape[:-1]) == tuple(var.shape[:-1]) and var.shape[-1] == 1):
            raise ValueError(
                f"gaussian_nll_loss: var of shape {list(var.shape)} does not fit input of "
                f"shape {list(input.shape)}"
            )
    if var._data.size and var._data.min() < 0:
        raise ValueError("gaussian_nll_loss: var has negative entry/entries")
    floor = var.detach().clamp(min=eps) - var.detach()
    v = var + floor
    loss = 0.5 * (v.log() + (input - target) ** 2 / v)
    if full:
        loss = loss + 0.5 * np.log(2 * np.pi)
    return _reduce(loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Hinge loss between every target class and every non-target class of each sample.

    ``target`` holds class indices; the first -1 in a row ends that row's targets.
    """
    x = input if input.dim() == 2 else input.unsqueeze(0)
    t = target._data if target.dim() == 2 else target._data.reshape(1, -1)
    if t.shape != tuple(x.shape) or t.dtype.kind not in "iu":
        raise RuntimeError(
            f"multilabel_margin_loss: expected an integer target of the input's shape "
            f"{list(input.shape)}, got {list(target.shape)} of {target.dtype}"
        )
    n, c = t.shape
    bad = out_of_range(t + 1, c + 1)  # targets are -1 (end of row) to c - 1
    if bad is not None:
        raise RuntimeError(
            f"multilabel_margin_loss: argument #2 'target' is out of range: target {bad - 1} "
            f"for input of {c} classes (-1 ends a row)"
        )
    valid = np.cumprod(t >= 0, axis=1).astype(bool)  # entries before the first -1
    is_target = np.zeros((n, c), bool)
    rows = np.broadcast_to(np.arange(n)[:, None], t.shape)
    is_target[rows[valid], t[valid]] = True
    # margin[i, j, k] = 1 - (x[i, j] - x[i, k]) for target j and non-target k
    margins = (1 - x.unsqueeze(2) + x.unsqueeze(1)).clamp(min=0)
    pairs = wrap((is_target[:, :, None] & ~is_target[:, None, :]).astype(x._data.dtype))
    loss = (margins * pairs).sum((1, 2)) / c
    if input.dim() == 1:
        loss = loss.squeeze(0)
    return _reduce(loss, _legacy_reduction(size_average, reduce, reduction))


def _logsumexp(*arrays):
    stacked = np.stack(arrays)
    m = stacked.max(axis=0)
    safe = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(stacked - safe).sum(axis=0)) + safe


class _CTC(ArrayFunction):
    """Connectionist temporal classification: -log p(target | input), summed over alignments.

    Forward runs the alpha recursion over time for the whole batch at once; backward the
    beta recursion. Each sample's target is extended with blanks: b, l1, b, l2, ..., b.
    As in PyTorch, the gradient is softmax(input) - occupancy, the gradient with respect to
    the logits under a log_softmax (it equals the true one once back through log_softmax).
    """

    @staticmethod
    def forward(ctx, lp, ext, ext_len, input_lengths, blank, zero_infinity):
        t_max, b, _ = lp.shape
        s_max = ext.shape[1]
        s_idx = np.arange(s_max)
        emit = np.take_along_axis(lp, np.broadcast_to(ext, (t_max, b, s_max)), axis=2)
        # a skip from s-2 is allowed onto a label that differs from the label two back
        skip = np.zeros((b, s_max), bool)
        skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
        neg = np.full((b, s_max), -np.inf, lp.dtype)
        alpha = np.full((t_max, b, s_max), -np.inf, lp.dtype)
        alpha[0, :, :2] = np.where(s_idx[:2] < ext_len[:, None], emit[0, :, :2], -np.inf)
        for t in range(1, t_max):
            prev = alpha[t - 1]
            one = np.concatenate([neg[:, :1], prev[:, :-1]], axis=1)
            two = np.where(skip, np.concatenate([neg[:, :2], prev[:, :-2]], axis=1), -np.inf)
            alpha[t] = _logsumexp(prev, one, two) + emit[t]
        rows = np.arange(b)
        last = alpha[input_lengths - 1, rows]
        end = np.stack([last[rows, ext_len - 1], last[rows, np.maximum(ext_len - 2, 0)]])
        end[1, ext_len < 2] = -np.inf
        nll = -_logsumexp(end[0], end[1])
        infinite = ~np.isfinite(nll)
        if zero_infinity:
            nll = np.where(infinite, 0.0, nll)
        ctx.zero_infinity = zero_infinity
        ctx.save_for_backward(lp, ext, ext_len, input_lengths, emit, skip, alpha, nll, infinite)
        return nll.astype(lp.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        lp_t, *saved = ctx.saved_tensors
        lp = lp_t._data
        ext, ext_len, input_lengths, emit, skip, alpha, nll, infinite = (t._data for t in saved)
        t_max, b, k = lp.shape
        s_max = ext.shape[1]
        rows = np.arange(b)
        neg = np.full((b, s_max), -np.inf, lp.dtype)
        skip_next = np.zeros((b, s_max), bool)  # from s, a skip to s+2 is allowed
        skip_next[:, :-2] = skip[:, 2:]
        beta = np.full((t_max, b, s_max), -np.inf, lp.dtype)
        nxt = neg.copy()
        for t in range(t_max - 1, -1, -1):
            start = input_lengths - 1 == t
            one = np.concatenate([nxt[:, 1:], neg[:, :1]], axis=1)
            two = np.where(skip_next, np.concatenate([nxt[:, 2:], neg[:, :2]], axis=1), -np.inf)
            cur = _logsumexp(nxt, one, two) + emit[t]
            init = neg.copy()
            init[rows, ext_len - 1] = emit[t, rows, ext_len - 1]
            two_back = np.maximum(ext_len - 2, 0)
            init[rows, two_back] = np.where(
                ext_len >= 2, emit[t, rows, two_back], init[rows, two_back]
            )
            cur = np.where(
                start[:, None], init, np.where((t < input_lengths - 1)[:, None], cur, -np.inf)
            )
            beta[t] = cur
            nxt = cur
        ab = alpha + beta - emit  # log of the probability mass through (t, s)
        m = ab.max(axis=2, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        onehot = np.zeros((b, s_max, k), lp.dtype)
        onehot[rows[:, None], np.arange(s_max), ext] = np.arange(s_max) < ext_len[:, None]
        mass = np.einsum("tbs,bsk->tbk", np.exp(ab - m), onehot)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            occ = np.exp(np.log(mass) + m + nll[None, :, None])
            grad = np.exp(lp) - occ
        grad[np.arange(t_max)[:, None] >= input_lengths[None, :]] = 0
        if ctx.zero_infinity:
            grad[:, infinite] = 0
        grad = (grad * np.asarray(g._data).reshape(1, b, 1)).astype(lp.dtype, copy=False)
        return first_order_only(grad, "ctc_loss_backward", lp_t, g), None, None, None, None, None


def _ctc_targets(targets, target_lengths, batch, blank):
    """Padded (batch, 2 * max_len + 1) blank-extended labels and their lengths."""
    t = targets._data if isinstance(targets, Tensor) else np.asarray(targets)
    lengths = np.asarray(
        target_lengths._data if isinstance(target_lengths, Tensor) else target_lengths
    ).reshape(-1)
    if lengths.size != batch:
        raise ValueError(f"ctc_loss: expected {batch} target lengths, got {lengths.size}")
    if t.ndim == 1 and batch > 1 or t.ndim == 1 and t.size == lengths.sum():
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        rows = [t[o : o + n] for o, n in zip(offsets, lengths)]
    else:
        t = t.reshape(batch, -1)
        rows = [t[i, :n] for i, n in enumerate(lengths)]
    ext = np.full((batch, 2 * int(lengths.max(initial=0)) + 1), blank, np.int64)
    for i, r in enumerate(rows):
        ext[i, 1 : 2 * len(r) : 2] = r
    return ext, 2 * lengths.astype(np.int64) + 1, lengths


def ctc_loss(
    log_probs,
    targets,
    input_lengths,
    target_lengths,
    blank=0,
    reduction="mean",
    zero_infinity=False,
):
    """CTC loss of (T, N, C) (or unbatched (T, C)) log-probabilities against label sequences."""
    batched = log_probs.dim() == 3
    lp = log_probs if batched else log_probs.unsqueeze(1)
    batch = lp.shape[1]
    il = np.asarray(input_lengths._data if isinstance(input_lengths, Tensor) else input_lengths)
    il = il.reshape(-1).astype(np.int64)
    if il.size != batch or (il > lp.shape[0]).any() or (il < 1).any():
        raise ValueError(
            f"ctc_loss: input_lengths {il.tolist()} must be {batch} values in [1, {lp.shape[0]}]"
        )
    ext, ext_len, lengths = _ctc_targets(targets, target_lengths, batch, blank)
    bad = out_of_range(ext, lp.shape[2])
    if bad is not None:
        raise IndexError(
            f"ctc_loss: target {bad} is out of range for log_probs of {lp.shape[2]} classes"
        )
    loss = _CTC.apply(lp, ext, ext_len, il, blank, zero_infinity)
    if reduction == "mean":
        scale = wrap(1.0 / np.maximum(lengths, 1).astype(lp._data.dtype)).to(lp.device)
        return (loss * scale).mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss if batched else loss.squeeze(0)
    raise ValueError(f"{reduction} is not a valid value for reduction")
