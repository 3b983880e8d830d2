"""NumPy kernels of cross-entropy and negative log-likelihood over (M, C) rows.

Both losses are loss_i = -sum_c A[i, c] logp[i, c], with logp = log_softmax(x) for
cross-entropy and logp = x for nll_loss. The coefficients A come from the target:

- class indices t (shape (M,)): A[i] = keep_i ((1 - s) w[t_i] onehot(t_i) + s / C w), where
  keep_i says t_i is not ``ignore_index``, s is the label smoothing and w the class weights;
- class probabilities P (shape (M, C)): A = (P (1 - s) + s / C) w.

Class-index targets never form A densely on the fast path: the loss reads x at the target
and the gradient subtracts there. The forward keeps exp(x - row max) and its row sums
(class indices) or log_softmax(x) (probabilities) for the backward, so the backward makes
no exp pass on the common path. Large inputs are split into row blocks run on several
threads (`row_blocks`); each block's passes (max, exp, sum) then read it from cache. For
class-index targets the exponentials run after the blocks, over the whole array on
oneDNN's exp where it takes it (about 5x NumPy's exp), and the row sums after that.
"""

import numpy as np

from ember.backends.numpy.row_blocks import over_rows
from ember.backends.onednn import eltwise as onednn_eltwise
from ember.backends.registry import register


def _index_terms(target, weight, ignore_index, dtype):
    """(keep mask, target with ignored entries at 0, keep * w[t] as ``dtype``)."""
    keep = target != ignore_index
    safe = np.where(keep, target, 0)
    picked_w = keep.astype(dtype) if weight is None else np.where(keep, weight[safe], 0)
    return keep, safe, picked_w.astype(dtype, copy=False)


def _probability_coefficients(p, weight, smoothing, classes):
    a = p * (1 - smoothing) + smoothing / classes if smoothing else p
    return a if weight is None else a * weight


def _mass(picked_w, keep, weight, smoothing, classes, dtype):
    """sum_c A[i, c] for class-index targets."""
    if not smoothing:
        return picked_w
    total = classes if weight is None else weight.sum()
    return (1 - smoothing) * picked_w + keep.astype(dtype) * (smoothing / classes * total)


SMALL = 1 << 14
"""Inputs up to this many elements take `_small_cross_entropy` (a classifier's (128, 10) or
(64, 10) logits): there the general path's bookkeeping costs more than its passes."""


def _small_cross_entropy(x, target, ignore_index):
    """`cross_entropy_forward` for class indices without weights or smoothing, in the fewest
    NumPy calls: the same passes and sums as the general path, so the same bits, except that
    an ignored row is 0 even where its logits hold inf or NaN (as in PyTorch, which skips it)."""
    keep = target != ignore_index
    everything = keep.all()
    safe = target if everything else np.where(keep, target, 0)
    with np.errstate(invalid="ignore", divide="ignore"):  # -inf logits: as in PyTorch
        kept = np.subtract(x, x.max(axis=1, keepdims=True))
        picked = kept[np.arange(x.shape[0]), safe]
        np.exp(kept, out=kept)
        sumexp = kept.sum(axis=1)
        loss = np.log(sumexp) - picked
    if not everything:
        loss = np.where(keep, loss, 0).astype(x.dtype, copy=False)
    return loss, kept, sumexp, x.dtype.type(keep.sum())


@register("cross_entropy_forward", "numpy")
def cross_entropy_forward(x, target, weight, ignore_index, smoothing, from_logits, threads=1):
    """(loss per row, kept, sumexp, target weight total).

    ``kept`` is what the backward kernel reads: exp(x - row max) for class-index targets
    (``sumexp`` its row sums), log_softmax(x) for probability targets (whose own gradient
    needs it; ``sumexp`` None), None for nll_loss. The total is what a mean divides by: the
    summed weights of the kept class indices, or the number of rows for probability
    targets."""
    m, c = x.shape
    if from_logits and target.ndim == 1 and weight is None and not smoothing and x.size <= SMALL:
        return _small_cross_entropy(x, target, ignore_index)
    rows = np.arange(m)
    index = target.ndim == 1
    if index:
        keep, safe, picked_w = _index_terms(target, weight, ignore_index, x.dtype)
        total = picked_w.sum()
    else:
        total = m
    if not from_logits:  # nll_loss: index targets only, no smoothing
        picked = x[rows, safe]
        with np.errstate(invalid="ignore"):
            loss = np.where(keep, -picked * picked_w, 0).astype(x.dtype, copy=False)
        return loss, None, None, total
    kept = np.empty_like(x)
    sumexp = np.empty(m, x.dtype)
    cross = np.empty(m, x.dtype)  # sum_c A[i, c] (x - max)[i, c]
    # exp(x - max) for class-index targets after the blocks, over the whole array on oneDNN's
    # threads where it takes it (5x NumPy's exp), else in each block
    exp_after = index and onednn_eltwise.kernel_name("exp", kept) is not None

    def block(lo, hi):
        e = kept[lo:hi]
        np.subtract(x[lo:hi], x[lo:hi].max(axis=1, keepdims=True), out=e)
        if index:
            part = (1 - smoothing) * picked_w[lo:hi] * e[rows[: hi - lo], safe[lo:hi]]
            if smoothing:
                spread = e.sum(axis=1) if weight is None else e @ weight
                part = part + (smoothing / c) * keep[lo:hi] * spread
            cross[lo:hi] = np.where(keep[lo:hi], part, 0)
            if not exp_after:
                np.exp(e, out=e)
                e.sum(axis=1, out=sumexp[lo:hi])
        else:
            coef = _probability_coefficients(target[lo:hi], weight, smoothing, c)
            cross[lo:hi] = np.einsum("ij,ij->i", coef, e)
            np.exp(e).sum(axis=1, out=sumexp[lo:hi])
            e -= np.log(sumexp[lo:hi])[:, None]

    def sums(lo, hi):
        np.einsum("ij->i", kept[lo:hi], out=sumexp[lo:hi])  # 3x NumPy's sum over rows

    with np.errstate(invalid="ignore", divide="ignore"):  # -inf logits: as in PyTorch
        over_rows(block, m, x.size, threads)
        if exp_after:
            onednn_eltwise.forward("exp", kept, exact=np.exp, out=kept)
            over_rows(sums, m, x.size, threads)
        if index:
            mass = _mass(picked_w, keep, weight, smoothing, c, x.dtype)
        else:
            mass = _probability_coefficients(target, weight, smoothing, c).sum(axis=1)
        loss = mass * np.log(sumexp) - cross
    return loss.astype(x.dtype, copy=False), kept, (sumexp if index else None), total


@register("cross_entropy_backward", "numpy")
def cross_entropy_backward(g, kept, sumexp, target, weight, ignore_index, smoothing, classes,
                           threads=1):  # fmt: skip
    """d loss / d x for the per-row gradient ``g``: g_i (softmax_i sum_c A[i, c] - A[i]) for
    cross-entropy (``kept`` and ``sumexp`` from the forward kernel), -g_i A[i] for nll_loss
    (``kept`` None)."""
    m = g.shape[0]
    rows = np.arange(m)
    index = target.ndim == 1
    if index:
        keep, safe, picked_w = _index_terms(target, weight, ignore_index, g.dtype)
    if kept is None:
        gx = np.zeros((m, classes), g.dtype)
        gx[rows, safe] = -g * picked_w
        return gx
    if index:
        mass = _mass(picked_w, keep, weight, smoothing, classes, g.dtype)
    else:
        mass = _probability_coefficients(target, weight, smoothing, classes).sum(axis=1)
    scale = (g * mass if sumexp is None else g * mass / sumexp).astype(kept.dtype, copy=False)
    gx = np.empty_like(kept)

    def block(lo, hi):
        out = gx[lo:hi]
        if index:
            np.multiply(kept[lo:hi], scale[lo:hi, None], out=out)
        else:
            np.exp(kept[lo:hi], out=out)
            out *= scale[lo:hi, None]
        gb = g[lo:hi, None]
        if not index:
            coef = _probability_coefficients(target[lo:hi], weight, smoothing, classes)
            out -= gb * coef
        elif smoothing:
            spread = np.ones(classes, g.dtype) if weight is None else weight
            out -= (gb * keep[lo:hi, None]) * ((smoothing / classes) * spread)

    over_rows(block, m, gx.size, threads)
    if index:
        gx[rows, safe] -= (g * (1 - smoothing) * picked_w).astype(gx.dtype, copy=False)
    return gx


@register("class_index_coefficients", "numpy")
def class_index_coefficients(target, weight, ignore_index, smoothing, classes, dtype):
    """The dense (M, C) coefficients A of a class-index target (for double backward)."""
    keep, safe, picked_w = _index_terms(target, weight, ignore_index, dtype)
    coef = np.zeros((target.shape[0], classes), dtype)
    coef[np.arange(target.shape[0]), safe] = (1 - smoothing) * picked_w
    if smoothing:
        spread = np.ones(classes, dtype) if weight is None else weight.astype(dtype)
        coef += keep[:, None] * ((smoothing / classes) * spread)
    return coef
