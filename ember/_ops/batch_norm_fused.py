"""Batch norm in training mode with its affine transform as one op, in the input's layout.

Statistics are per channel over every other axis. A channels-last input (what the oneDNN
convolutions return) is viewed as (rows, C) and an NCHW-contiguous one as (N, C, L), so no
layout copy is made either way; the affine is folded into one scale and shift per channel,
and the backward pass is the closed form of the standardisation's gradient. A backward pass
that is itself recorded (``create_graph=True``) differentiates the composed ops instead.
"""

import numpy as np

from ember._ops._norm_reference import normalized_affine
from ember._tensor import wrap
from ember.autograd.function import ArrayFunction, recorded_backward
from ember.autograd.grad_mode import is_grad_enabled


def _layout(a):
    """(array view, axes to reduce, per-channel broadcast shape, back-to-input function)."""
    c = a.shape[1]
    moved = np.moveaxis(a, 1, -1)
    if moved.flags.c_contiguous:
        return (
            moved.reshape(-1, c),
            (0,),
            (1, c),
            lambda r: np.moveaxis(r.reshape(moved.shape), -1, 1),
        )
    planes = np.ascontiguousarray(a).reshape(a.shape[0], c, -1)
    return planes, (0, 2), (1, c, 1), lambda r: r.reshape(a.shape)


def _per_channel_dot(u, v, axes):
    return np.einsum("ij,ij->j", u, v) if axes == (0,) else np.einsum("ncl,ncl->c", u, v)


class BatchNormTrain(ArrayFunction):
    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        a, axes, shape, back = _layout(x)
        count = a.size // a.shape[1]
        mean = a.mean(axis=axes)
        out = a - mean.reshape(shape)
        var = _per_channel_dot(out, out, axes) / count
        rstd = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
        out *= (rstd if weight is None else rstd * weight).reshape(shape)
        if bias is not None:
            out += bias.reshape(shape)
        ctx.mean, ctx.rstd, ctx.eps = mean, rstd, eps
        ctx.save_for_backward(x, weight, bias)
        ctx.mark_non_differentiable(mean, var)
        return back(out), mean, var.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, g, _gmean, _gvar):
        x, weight, bias = ctx.saved_tensors
        if is_grad_enabled():
            axes = (0,) + tuple(range(2, x.dim()))
            shape = (1, -1) + (1,) * (x.dim() - 2)
            return recorded_backward(ctx, normalized_affine(axes, ctx.eps, shape), (g,))
        a, axes, shape, back = _layout(x._data)
        gd = _layout_like(g._data, a.shape, axes)
        count = a.size // a.shape[1]
        xhat = a - ctx.mean.reshape(shape)
        xhat *= ctx.rstd.reshape(shape)
        db = gd.sum(axis=axes)
        dw = _per_channel_dot(gd, xhat, axes)
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        dx = None
        if need_x:
            k = ctx.rstd if weight is None else ctx.rstd * weight._data
            dx = gd * k.reshape(shape)
            dx -= (k * db / count).reshape(shape)
            xhat *= (k * dw / count).reshape(shape)
            dx -= xhat
            dx = wrap(back(dx))
        dw = wrap(dw) if need_w and weight is not None else None
        db = wrap(db) if need_b and bias is not None else None
        return dx, dw, db, None


def _layout_like(g, shape, axes):
    """The incoming gradient in the layout the forward pass used."""
    if axes == (0,):
        return np.ascontiguousarray(np.moveaxis(g, 1, -1)).reshape(shape)
    return np.ascontiguousarray(g).reshape(shape)
