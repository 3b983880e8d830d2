"""Layer norm with its affine transform as one op over (M, N) rows.

Standardisation, scale and shift in one forward and one backward, writing in place where the
arrays are its own, so a large layer norm makes about half the passes over memory that the
composed ops do; large inputs are split into row blocks run on all cores (`_row_threads`).
A backward pass that is itself recorded (``create_graph=True``) differentiates the composed
ops instead, for double backward.
"""

import numpy as np

from ember._ops._norm_reference import normalized_affine
from ember._ops._row_threads import over_rows
from ember._tensor import wrap
from ember.autograd.function import ArrayFunction, recorded_backward
from ember.autograd.grad_mode import is_grad_enabled


def _row_dot(a, b):
    return np.einsum("ij,ij->i", a, b)


class LayerNormRows(ArrayFunction):
    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        m, n = x.shape
        xhat = np.empty_like(x)
        out = np.empty_like(x)
        rstd = np.empty(m, x.dtype)

        def rows(lo, hi):
            xb, c = x[lo:hi], xhat[lo:hi]
            np.subtract(xb, xb.mean(axis=1, keepdims=True), out=c)
            r = (1.0 / np.sqrt(_row_dot(c, c) / n + eps)).astype(x.dtype, copy=False)
            c *= r[:, None]
            rstd[lo:hi] = r
            o = out[lo:hi]
            if weight is not None:
                np.multiply(c, weight, out=o)
            else:
                o[...] = c
            if bias is not None:
                o += bias

        over_rows(rows, m, x.size)
        ctx.xhat, ctx.rstd, ctx.eps = xhat, rstd, eps
        ctx.save_for_backward(x, weight, bias)
        return out

    @staticmethod
    def backward(ctx, g):
        if is_grad_enabled():
            return recorded_backward(ctx, normalized_affine((1,), ctx.eps, (-1,)), (g,))
        _, weight, bias = ctx.saved_tensors  # also checks for in-place changes since forward
        g, xhat, rstd = g._data, ctx.xhat, ctx.rstd
        m, n = xhat.shape
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        need_w = need_w and weight is not None
        need_b = need_b and bias is not None
        gx = np.empty_like(g) if need_x else None
        w = None if weight is None else weight._data
        partial_w, partial_b = {}, {}  # per row block; summed in block order below

        def rows(lo, hi):
            gr, xh = g[lo:hi], xhat[lo:hi]
            if need_w:
                partial_w[lo] = np.einsum("ij,ij->j", gr, xh)
            if need_b:
                partial_b[lo] = gr.sum(axis=0)
            if not need_x:
                return
            d = gx[lo:hi]
            if w is not None:
                np.multiply(gr, w, out=d)
            else:
                d[...] = gr
            m2 = (_row_dot(d, xh) / n)[:, None].astype(d.dtype, copy=False)
            d -= d.mean(axis=1, keepdims=True)
            d -= xh * m2
            d *= rstd[lo:hi, None]

        over_rows(rows, m, g.size)
        gw = wrap(sum(partial_w[k] for k in sorted(partial_w))) if need_w else None
        gb = wrap(sum(partial_b[k] for k in sorted(partial_b))) if need_b else None
        return (None if gx is None else wrap(gx)), gw, gb, None
