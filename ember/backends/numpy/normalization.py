"""NumPy kernels of the normalisation ops: fused passes over the input's own layout.

Every forward kernel returns ``(out, mean, var, rstd, cache)``: the standardised input with
its affine transform applied, the statistics (mean, biased variance, 1 / sqrt(var + eps)) of
each normalised group, and what its backward reads to save a pass (layer norm: the
standardised input; None for the others). Every backward kernel takes that cache and
returns ``(dx, dweight, dbias)``, each None where ``needs`` says it is not wanted, from the
closed form of the standardisation's gradient:
dx = rstd * (gh - mean(gh) - xhat * mean(gh * xhat)) with gh = g * weight.

- batch norm: per channel (axis 1) over every other axis, on a 2-D view of the input that
  needs no layout copy (`_PerChannel`). Its passes run on one thread (splitting NumPy's
  passes over two threads made them slower on a shared 2-core machine); large float32
  channels-first input takes oneDNN's passes on every core instead
  (`ember.backends.onednn.batch_norm`).
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


class _PerChannel:
    """An (N, C, *) array as a 2-D (rows, K) view for per-channel passes: a channels-last
    input as (N * spatial, C), any other as (N, C * L) (contiguous, copied if it was not).

    Per-channel constants are applied as a row of K values (each channel's value repeated
    over its L positions), so every elementwise pass is a product of equal-length contiguous
    rows, which NumPy runs up to three times faster than a broadcast of one value per
    (n, c) row; sums run down the columns, then over each channel's L positions.
    """

    def __init__(self, x):
        c = x.shape[1]
        moved = np.moveaxis(x, 1, -1)
        self.channels_last = moved.flags.c_contiguous
        if self.channels_last:
            self.view, self.length = moved.reshape(-1, c), 1
            self.back = lambda r: np.moveaxis(r.reshape(moved.shape), -1, 1)
        else:
            self.view = np.ascontiguousarray(x).reshape(x.shape[0], -1)
            self.length = self.view.shape[1] // c if c else 0
            self.back = lambda r: r.reshape(x.shape)
        self.channels = c
        self.count = self.view.size // c if c else 0
        self.work = np.float64 if x.dtype == np.float64 else np.float32

    def like(self, g):
        """``g``, of the input's shape, in the same view."""
        if self.channels_last:
            return np.ascontiguousarray(np.moveaxis(g, 1, -1)).reshape(self.view.shape)
        return np.ascontiguousarray(g).reshape(self.view.shape)

    def row(self, per_channel):
        """A per-channel vector as a row of the view."""
        return np.repeat(per_channel.astype(self.work, copy=False), self.length)

    def channel_sums(self, rows, other=None):
        """Per-channel sums of ``rows`` (or of rows * other) over every row and position."""
        if other is None:
            columns = rows.sum(axis=0, dtype=self.work)
        else:
            columns = np.einsum("ij,ij->j", rows, other)
        return columns.reshape(self.channels, self.length).sum(axis=1)


@register("batch_norm_forward", "numpy")
def batch_norm_forward(x, weight, bias, eps):
    """Mean, then the mean of the centred squares (two passes, as PyTorch's CPU kernel); the
    centred input, kept in the output buffer, is then scaled and shifted in place."""
    p = _PerChannel(x)
    a = p.view
    work = a if a.dtype == p.work else a.astype(p.work)
    mean = p.channel_sums(work) / p.count
    centred = np.empty(a.shape, p.work)
    np.subtract(work, p.row(mean), out=centred)
    var = p.channel_sums(centred, centred) / p.count
    rstd = 1.0 / np.sqrt(var + eps)
    scale = rstd if weight is None else rstd * weight
    out = centred if centred.dtype == x.dtype else np.empty(a.shape, x.dtype)
    np.multiply(centred, p.row(scale), out=out)
    if bias is not None:
        np.add(out, p.row(bias), out=out)
    stats = (s.astype(x.dtype, copy=False) for s in (mean, var, rstd))
    return (p.back(out), *stats, None)


@register("batch_norm_inference", "numpy")
def batch_norm_inference(x, mean, var, weight, bias, eps):
    """(x - mean) / sqrt(var + eps) * weight + bias with given statistics, as
    x * scale + shift per channel, in the input's layout."""
    p = _PerChannel(x)
    rstd = 1.0 / np.sqrt(var.astype(p.work) + eps)
    scale = rstd if weight is None else rstd * weight
    shift = -mean * scale if bias is None else bias - mean * scale
    out = np.empty(p.view.shape, x.dtype)
    np.multiply(p.view, p.row(scale), out=out)
    np.add(out, p.row(shift), out=out)
    return p.back(out)


@register("batch_norm_backward", "numpy")
def batch_norm_backward(g, x, weight, mean, rstd, cache, needs):
    """db = sum(g), dw = sum(g * xhat), and
    dx = k * (g - db / n - xhat * dw / n) with k = rstd * weight, per channel."""
    p = _PerChannel(x)
    a, gd = p.view, p.like(g)
    if gd.dtype != p.work:
        a, gd = a.astype(p.work), gd.astype(p.work)
    r_std = rstd.astype(p.work)
    centred = np.empty(a.shape, p.work)
    np.subtract(a, p.row(mean), out=centred)
    db = p.channel_sums(gd)
    dw = p.channel_sums(gd, centred) * r_std
    dx = None
    if needs[0]:
        k = r_std if weight is None else r_std * weight
        c1, c2 = -k * r_std * dw / p.count, -k * db / p.count
        dx = np.empty(a.shape, x.dtype)
        np.multiply(centred, p.row(c1), out=centred)
        np.add(centred, p.row(c2), out=centred)
        np.multiply(gd, p.row(k), out=dx)
        np.add(dx, centred, out=dx)
        dx = p.back(dx)
    dw = dw.astype(x.dtype, copy=False) if needs[1] else None
    db = db.astype(x.dtype, copy=False) if needs[2] else None
    return dx, dw, db


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
