"""NumPy kernels of the normalisation ops: fused passes over the input's own layout.

Every forward kernel returns ``(out, mean, var, rstd, cache)``: the standardised input with
its affine transform applied, the statistics (mean, biased variance, 1 / sqrt(var + eps)) of
each normalised group, and what its backward reads to save a pass (layer norm: the
standardised input; None for the others). Every backward kernel takes that cache and
returns ``(dx, dweight, dbias)``, each None where ``needs`` says it is not wanted, from the
closed form of the standardisation's gradient:
dx = rstd * (gh - mean(gh) - xhat * mean(gh * xhat)) with gh = g * weight.

- batch norm: per channel (axis 1) over every other axis. A channels-last input is viewed as
  (rows, C) and an NCHW-contiguous one as (N, C, L), so neither makes a layout copy.
- layer norm: per row of an (M, K) array, weight and bias of shape (K,); large inputs are
  split into row blocks run on several threads (`row_blocks`).
- group norm: per (sample, group) of an (N, C, *) input, weight and bias per channel;
  instance norm is group norm with one channel per group.
"""

import numpy as np

from ember.backends.numpy.row_blocks import over_rows
from ember.backends.registry import register


def _rstd(var, eps, dtype):
    return (1.0 / np.sqrt(var + eps)).astype(dtype, copy=False)


def _row_dot(a, b):
    if a.dtype.kind == "V":  # ml_dtypes' bfloat16, which einsum has no loop for
        return np.einsum("ij,ij->i", a, b, dtype=np.float32).astype(a.dtype)
    return np.einsum("ij,ij->i", a, b)


def _channel_view(a):
    """(view, axes to reduce, per-channel broadcast shape, back-to-input function)."""
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


def _channel_view_like(g, shape, axes):
    """The incoming gradient in the layout ``_channel_view`` chose for the input."""
    if axes == (0,):
        return np.ascontiguousarray(np.moveaxis(g, 1, -1)).reshape(shape)
    return np.ascontiguousarray(g).reshape(shape)


def _per_channel_dot(u, v, axes):
    return np.einsum("ij,ij->j", u, v) if axes == (0,) else np.einsum("ncl,ncl->c", u, v)


@register("batch_norm_forward", "numpy")
def batch_norm_forward(x, weight, bias, eps):
    a, axes, shape, back = _channel_view(x)
    count = a.size // a.shape[1]
    mean = a.mean(axis=axes)
    out = a - mean.reshape(shape)
    var = (_per_channel_dot(out, out, axes) / count).astype(x.dtype, copy=False)
    rstd = _rstd(var, eps, x.dtype)
    out *= (rstd if weight is None else rstd * weight).reshape(shape)
    if bias is not None:
        out += bias.reshape(shape)
    return back(out), mean, var, rstd, None


@register("batch_norm_backward", "numpy")
def batch_norm_backward(g, x, weight, mean, rstd, cache, needs):
    a, axes, shape, back = _channel_view(x)
    gd = _channel_view_like(g, a.shape, axes)
    count = a.size // a.shape[1]
    xhat = a - mean.reshape(shape)
    xhat *= rstd.reshape(shape)
    db = gd.sum(axis=axes)
    dw = _per_channel_dot(gd, xhat, axes)
    dx = None
    if needs[0]:
        k = rstd if weight is None else rstd * weight
        dx = gd * k.reshape(shape)
        dx -= (k * db / count).reshape(shape)
        xhat *= (k * dw / count).reshape(shape)
        dx -= xhat
        dx = back(dx)
    return dx, (dw if needs[1] else None), (db if needs[2] else None)


@register("layer_norm_forward", "numpy")
def layer_norm_forward(x, weight, bias, eps, threads=1):
    m, n = x.shape
    xhat = np.empty_like(x)
    out = np.empty_like(x)
    mean = np.empty(m, x.dtype)
    var = np.empty(m, x.dtype)
    rstd = np.empty(m, x.dtype)

    def rows(lo, hi):
        xb, c, o = x[lo:hi], xhat[lo:hi], out[lo:hi]
        mu = xb.mean(axis=1)
        np.subtract(xb, mu[:, None], out=c)
        v = _row_dot(c, c) / n
        r = _rstd(v, eps, x.dtype)
        c *= r[:, None]
        if weight is not None:
            np.multiply(c, weight, out=o)
        else:
            o[...] = c
        if bias is not None:
            o += bias
        mean[lo:hi], var[lo:hi], rstd[lo:hi] = mu, v, r

    with np.errstate(invalid="ignore", divide="ignore"):  # rows of length 0: nan statistics
        over_rows(rows, m, x.size, threads)
    return out, mean, var, rstd, xhat


@register("layer_norm_backward", "numpy")
def layer_norm_backward(g, x, weight, mean, rstd, xhat, needs, threads=1):
    m, n = x.shape
    need_x, need_w, need_b = needs
    gx = np.empty_like(x) if need_x else None
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
        gh = gr if weight is None else np.multiply(gr, weight, out=d)
        mean_gh = gh.mean(axis=1, keepdims=True)
        mean_ghx = (_row_dot(gh, xh) / n)[:, None].astype(d.dtype, copy=False)
        if weight is None:  # d is free: gh - xhat mean(gh xhat) written there in two passes
            np.multiply(xh, mean_ghx, out=d)
            np.subtract(gr, d, out=d)
        else:
            d -= xh * mean_ghx
        d -= mean_gh
        d *= rstd[lo:hi, None]

    over_rows(rows, m, x.size, threads)
    dw = sum(partial_w[k] for k in sorted(partial_w)) if need_w else None
    db = sum(partial_b[k] for k in sorted(partial_b)) if need_b else None
    return gx, dw, db


def _group_rows(x, groups):
    return np.ascontiguousarray(x).reshape(x.shape[0] * groups, -1)


@register("group_norm_forward", "numpy")
def group_norm_forward(x, weight, bias, groups, eps):
    n, c = x.shape[:2]
    rows = _group_rows(x, groups)
    with np.errstate(invalid="ignore", divide="ignore"):  # empty groups: nan statistics
        mean = rows.mean(axis=1)
        out = rows - mean[:, None]
        var = (_row_dot(out, out) / rows.shape[1]).astype(x.dtype, copy=False)
    rstd = _rstd(var, eps, x.dtype)
    out *= rstd[:, None]
    planes = out.reshape(n, c, -1)
    if weight is not None:
        planes *= weight[:, None]
    if bias is not None:
        planes += bias[:, None]
    return (
        out.reshape(x.shape),
        mean.reshape(n, groups),
        var.reshape(n, groups),
        rstd.reshape(n, groups),
        None,
    )


@register("group_norm_backward", "numpy")
def group_norm_backward(g, x, weight, mean, rstd, cache, groups, needs):
    n, c = x.shape[:2]
    rows = _group_rows(x, groups)
    xhat = rows - mean.reshape(-1, 1)
    xhat *= rstd.reshape(-1, 1)
    g3 = np.ascontiguousarray(g).reshape(n, c, -1)
    dw = np.einsum("ncl,ncl->c", g3, xhat.reshape(n, c, -1)) if needs[1] else None
    db = g3.sum(axis=(0, 2)) if needs[2] else None
    dx = None
    if needs[0]:
        d = g3 * weight[:, None] if weight is not None else g3.copy()
        d = d.reshape(rows.shape)
        m2 = (_row_dot(d, xhat) / rows.shape[1])[:, None].astype(d.dtype, copy=False)
        d -= d.mean(axis=1, keepdims=True)
        xhat *= m2
        d -= xhat
        d *= rstd.reshape(-1, 1)
        dx = d.reshape(x.shape)
    return dx, dw, db
