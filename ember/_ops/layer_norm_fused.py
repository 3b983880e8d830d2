"""Layer norm with its affine transform as one op over (M, N) rows.

Standardisation, scale and shift in one forward and one backward, writing in place where the
arrays are its own, so a large layer norm makes about half the passes over memory that the
composed ops do. A backward pass that is itself recorded (``create_graph=True``)
differentiates the composed ops instead, for double backward.
"""

import numpy as np

from ember._tensor import wrap
from ember.autograd.function import ArrayFunction, recorded_backward
from ember.autograd.grad_mode import is_grad_enabled


def _row_dot(a, b):
    return np.einsum("ij,ij->i", a, b)


class LayerNormRows(ArrayFunction):
    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        n = x.shape[1]
        xhat = x - x.mean(axis=1, keepdims=True)
        rstd = 1.0 / np.sqrt(_row_dot(xhat, xhat) / n + eps)
        xhat *= rstd[:, None].astype(x.dtype, copy=False)
        out = xhat * weight if weight is not None else xhat.copy()
        if bias is not None:
            out += bias
        ctx.xhat, ctx.rstd, ctx.eps = xhat, rstd, eps
        ctx.save_for_backward(x, weight, bias)
        return out

    @staticmethod
    def backward(ctx, g):
        if is_grad_enabled():
            return recorded_backward(ctx, _reference(ctx.eps), (g,))
        x, weight, bias = ctx.saved_tensors
        g, xhat = g._data, ctx.xhat
        n = xhat.shape[1]
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        gw = wrap(np.einsum("ij,ij->j", g, xhat)) if need_w and weight is not None else None
        gb = wrap(g.sum(axis=0)) if need_b and bias is not None else None
        gx = None
        if need_x:
            gxhat = g * weight._data if weight is not None else g.copy()
            m1 = gxhat.mean(axis=1, keepdims=True)
            m2 = (_row_dot(gxhat, xhat) / n)[:, None].astype(g.dtype, copy=False)
            gxhat -= m1
            gxhat -= xhat * m2
            gxhat *= ctx.rstd[:, None].astype(g.dtype, copy=False)
            gx = wrap(gxhat)
        return gx, gw, gb, None


def _reference(eps):
    def run(x, weight, bias):
        mean = x.mean(1, keepdim=True)
        centered = x - mean
        out = centered * ((centered * centered).mean(1, keepdim=True) + eps).rsqrt()
        if weight is not None:
            out = out * weight
        if bias is not None:
            out = out + bias
        return (out,)

    return run
