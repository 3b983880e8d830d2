"""Cross-entropy of (M, C) logits against class indices, without label smoothing.

The common case gets its own op because it needs no dense (M, C) target: the loss of row i
is logsumexp(x_i) - x_i[t_i], and its gradient softmax(x_i) - onehot(t_i), scaled by the
row's weight. Forward makes three passes over the logits (max, exp, sum) and keeps exp(x -
max); backward makes one.
"""

import numpy as np

from ember._ops._row_threads import over_rows
from ember._tensor import wrap
from ember.autograd.function import ArrayFunction
from ember.autograd.grad_mode import is_grad_enabled


class CrossEntropyIndex(ArrayFunction):
    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, reduction):
        m = x.shape[0]
        keep = target != ignore_index
        safe_t = np.where(keep, target, 0)
        rows = np.arange(m)
        exp = np.empty_like(x)
        picked = np.empty(m, x.dtype)
        sumexp = np.empty(m, x.dtype)

        def block(lo, hi):
            e = exp[lo:hi]
            np.subtract(x[lo:hi], x[lo:hi].max(axis=1, keepdims=True), out=e)
            picked[lo:hi] = e[rows[: hi - lo], safe_t[lo:hi]]
            np.exp(e, out=e)
            e.sum(axis=1, out=sumexp[lo:hi])

        over_rows(block, m, x.size)
        row_w = keep.astype(x.dtype) if weight is None else weight[safe_t].astype(x.dtype) * keep
        per_row = (np.log(sumexp) - picked) * row_w
        if reduction == "mean":
            denom = row_w.sum()
            with np.errstate(invalid="ignore", divide="ignore"):  # all ignored: nan, as torch
                out = np.asarray(per_row.sum() / denom, x.dtype)
            scale = 1 / denom if denom else np.nan
        elif reduction == "sum":
            out, scale = np.asarray(per_row.sum(), x.dtype), 1.0
        else:
            out, scale = per_row.astype(x.dtype, copy=False), None
        ctx.exp, ctx.sumexp, ctx.safe_t, ctx.row_w, ctx.scale = exp, sumexp, safe_t, row_w, scale
        ctx.save_for_backward(x)
        return out

    @staticmethod
    def backward(ctx, g):
        # d loss_i / d x_i = w_i * (softmax(x_i) - onehot(t_i))
        row_g = ctx.row_w * (g._data * ctx.scale if ctx.scale is not None else g._data)
        rows = np.arange(row_g.shape[0])
        if is_grad_enabled():  # recorded, for double backward: the same formula in ember ops
            from ember._ops.activation import softmax

            (x,) = ctx.saved_tensors
            onehot = np.zeros(x.shape, x._data.dtype)
            onehot[rows, ctx.safe_t] = 1
            coef = wrap(ctx.row_w[:, None] * onehot)
            g_row = g * ctx.scale if ctx.scale is not None else g.unsqueeze(1)
            gx = (softmax(x, 1) * wrap(ctx.row_w[:, None]) - coef) * g_row
            return gx, None, None, None, None
        exp, scale = ctx.exp, (row_g / ctx.sumexp).astype(ctx.exp.dtype)
        gx = np.empty_like(exp)

        def block(lo, hi):
            np.multiply(exp[lo:hi], scale[lo:hi, None], out=gx[lo:hi])

        over_rows(block, gx.shape[0], gx.size)
        gx[rows, ctx.safe_t] -= row_g.astype(gx.dtype)
        return wrap(gx), None, None, None, None
