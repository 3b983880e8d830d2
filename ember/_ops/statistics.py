"""Statistics over tensors: covariance and correlation, histograms, quantiles that skip NaN,
distances, renormalisation of slices, and numerical gradients of sampled functions."""

import builtins
import functools
import math

import numpy as np

from ember import _dtype
from ember._ops import comparison, linalg, shape
from ember._ops._numpy_kwargs import numpy_kwargs
from ember._ops._return_types import return_type
from ember._ops._util import norm_dim, norm_dims
from ember._ops.complex import reject_complex
from ember._tensor import Tensor, wrap
from ember.autograd.inplace import inplace

__all__ = [
    "cov",
    "corrcoef",
    "histc",
    "histogram",
    "histogramdd",
    "quantile",
    "nanquantile",
    "dist",
    "renorm",
    "gradient",
]

histogram_result = return_type("histogram", ["hist", "bin_edges"])
histogramdd_result = return_type("histogramdd", ["hist", "bin_edges"])


def _dtype_name(t):
    return t.dtype.name.capitalize()


def _check_weights(name, w, n):
    if w.dim() > 1:
        raise RuntimeError(
            f"cov(): expected {name} to have one or fewer dimensions but got {name} with "
            f"{w.dim()} dimensions"
        )
    if w.numel() != n:
        raise RuntimeError(
            f"cov(): expected {name} to have the same numel as there are observations in the "
            f"input but got {w.numel()} != {n}"
        )
    if w.numel() and bool((w._data < 0).any()):
        raise RuntimeError(f"cov(): {name} cannot be negative")


def cov(input, *, correction=1, fweights=None, aweights=None):
    """Covariance of the rows of ``input`` (variables) over its columns (observations)."""
    if input.dim() > 2:
        raise RuntimeError(
            "cov(): expected input to have two or fewer dimensions but got an input with "
            f"{input.dim()} dimensions"
        )
    if input._data.dtype.kind in "iub":
        input = input.to(_dtype.get_default_dtype())
    x = input.reshape(1, -1) if input.dim() < 2 else input
    n = x.shape[1]
    w = None
    if fweights is not None:
        if fweights._data.dtype.kind not in "iu":
            raise RuntimeError(
                "cov(): expected fweights to have integral dtype but got fweights with "
                f"{_dtype_name(fweights)} dtype"
            )
        _check_weights("fweights", fweights, n)
        w = fweights
    if aweights is not None:
        if aweights._data.dtype.kind not in "fc":
            raise RuntimeError(
                "cov(): expected aweights to have floating point dtype but got aweights with "
                f"{_dtype_name(aweights)} dtype"
            )
        _check_weights("aweights", aweights, n)
        w = aweights if w is None else w * aweights
    if w is None:
        avg = x.mean(1)
        norm = builtins.max(n - correction, 0)
    else:
        w = w.to(x.dtype)
        w_sum = w.sum()
        avg = (x * w).sum(1) / w_sum
        if aweights is None or correction == 0:
            norm = w_sum - correction
        else:
            norm = w_sum - correction * (w * aweights).sum() / w_sum
        norm = norm.clamp(min=0.0)
    centred = x - avg.unsqueeze(1)
    weighted = centred if w is None else centred * w
    c = linalg.matmul(centred, weighted.transpose(0, 1).conj()) / norm
    return c.squeeze()


def corrcoef(input):
    """Pearson correlation coefficients of the rows of ``input``."""
    c = cov(input)
    if c.dim() == 0:
        return c / c
    std = c.diagonal().real.sqrt() if c.is_complex() else c.diagonal().sqrt()
    c = c / std.unsqueeze(1) / std.unsqueeze(0)
    return c if c.is_complex() else c.clamp(-1, 1)


def _require_float(op, kernel, input):
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f"\"{kernel}_cpu\" not implemented for '{_dtype_name(input)}'")


def _data_range(op, data, lo, hi):
    """[lo, hi] of a histogram: the data's range where both are equal, widened if empty."""
    lo, hi = float(lo), float(hi)
    if lo == hi and data.size:
        lo, hi = float(data.min()), float(data.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"{op}: range of [{lo}, {hi}] is not finite")
    if lo > hi:
        raise RuntimeError(f"{op}: max must be larger than min")
    return lo, hi


def histc(input, bins=100, min=0, max=0, *, out=None):
    """Counts of ``input``'s values in ``bins`` equal bins over [min, max] (the data's range
    when both are 0); values outside are ignored. No gradient, as in PyTorch."""
    _require_float("torch.histc", "histogram", input)
    if bins <= 0:
        raise RuntimeError(f"torch.histc(): bins must be > 0, but got {bins} for dim 0")
    data = input._data.reshape(-1)
    lo, hi = _data_range("torch.histc", data, min, max)
    dt = data.dtype
    inside = data[(data >= lo) & (data <= hi)]
    pos = ((inside - dt.type(lo)) * dt.type(bins) / (dt.type(hi) - dt.type(lo))).astype(np.int64)
    counts = np.bincount(np.minimum(pos, bins - 1), minlength=bins).astype(dt)
    result = wrap(counts)
    if out is not None:
        out._data = counts.astype(out._data.dtype)
        out._bump_version()
        return out
    return result


def histogram(input, bins=100, *, range=None, weight=None, density=False, out=None):
    """(counts, bin edges) of ``input``'s values; ``bins`` is a count or a tensor of edges."""
    _require_float("torch.histogram", "histogram", input)
    data = input._data.reshape(-1)
    if isinstance(bins, Tensor):
        if bins.dim() != 1 or bins.numel() < 2:
            raise RuntimeError(
                "torch.histogram(): bins tensor should have one dimension and at least 2 "
                f"elements, but got shape {list(bins.shape)}"
            )
        edges = bins._data.astype(data.dtype)
        if (np.diff(edges) < 0).any():
            raise RuntimeError("torch.histogram(): bin edges must be monotonically increasing")
    else:
        if bins <= 0:
            raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dim 0")
        lo, hi = (0.0, 0.0) if range is None else range
        lo, hi = _data_range("torch.histogram", data, lo, hi)
        edges = np.linspace(lo, hi, bins + 1).astype(data.dtype)
    if weight is not None and tuple(weight.shape) != tuple(input.shape):
        raise RuntimeError(
            "torch.histogram(): if weight tensor is provided it should have the same shape as "
            f"the input tensor excluding its innermost dimension, but got input with shape "
            f"{list(input.shape)} and weight with shape {list(weight.shape)}"
        )
    n_bins = edges.size - 1
    keep = (data >= edges[0]) & (data <= edges[-1])
    pos = np.minimum(np.searchsorted(edges, data[keep], side="right") - 1, n_bins - 1)
    w = None if weight is None else weight._data.reshape(-1)[keep]
    hist = np.bincount(pos, weights=w, minlength=n_bins).astype(data.dtype)
    if density:
        hist = hist / (hist.sum() * np.diff(edges))
    result = histogram_result(wrap(hist.astype(data.dtype)), wrap(edges))
    if out is not None:
        for o, r in zip(out, result):
            o._data = r._data.astype(o._data.dtype)
            o._bump_version()
        return histogram_result(*out)
    return result


def _histogramdd_edges(points, bins, range):
    """The bin edges of each of the points' dims, from counts (and ``range``) or tensors."""
    n_dims = points.shape[1]
    bins = [bins] * n_dims if isinstance(bins, int | np.integer) else list(bins)
    if len(bins) != n_dims:
        raise RuntimeError(
            f"torch.histogramdd: expected {n_dims} sequences of bin edges for a "
            f"{n_dims}-dimensional histogram but got {len(bins)}"
        )
    if range is not None and len(range) != 2 * n_dims:
        raise RuntimeError(
            f"torch.histogramdd: for a {n_dims}-dimensional histogram range should have "
            f"{2 * n_dims} elements, but got {len(range)}"
        )
    edges = []
    for d, b in enumerate(bins):
        if isinstance(b, Tensor):
            if b._data.dtype != points.dtype:
                raise RuntimeError(
                    "torch.histogramdd: input tensor and bins tensors should have the same "
                    f"dtype, but got input with dtype {_dtype.from_np(points.dtype).name} and "
                    f"bins for dimension {d} with dtype {b.dtype.name}"
                )
            e = b._data
            if b.dim() != 1 or e.size < 1 or (np.diff(e) < 0).any():
                raise RuntimeError(
                    f"torch.histogramdd: bin edges of dim {d} must be a 1-D, monotonically "
                    f"increasing tensor, but got {e.tolist()}"
                )
        else:
            if b <= 0:
                raise RuntimeError(
                    f"torch.histogramdd(): bins must be > 0, but got {b} for dim {d}"
                )
            lo, hi = (0.0, 0.0) if range is None else range[2 * d : 2 * d + 2]
            lo, hi = _data_range("torch.histogramdd", points[:, d], lo, hi)
            e = np.linspace(lo, hi, int(b) + 1).astype(points.dtype)
        edges.append(e)
    return edges


def histogramdd(input, bins, *, range=None, weight=None, density=False):
    """(counts, bin edges per dim) of the points in ``input``'s rows (its last dim holds the
    coordinates); ``bins`` is a count, a count per dim, or a tensor of edges per dim."""
    _require_float("torch.histogramdd", "histogramdd", input)
    if input.dim() < 2:
        raise RuntimeError(
            f"torch.histogramdd: input tensor should have at least 2 dimensions, but got "
            f"{input.dim()}"
        )
    points = input._data.reshape(-1, input.shape[-1])
    if weight is not None and tuple(weight.shape) != tuple(input.shape[:-1]):
        raise RuntimeError(
            "torch.histogramdd: if weight tensor is provided it should have the same shape as "
            f"the input tensor excluding its innermost dimension, but got input with shape "
            f"{list(input.shape)} and weight with shape {list(weight.shape)}"
        )
    edges = _histogramdd_edges(points, bins, range)
    counts = tuple(e.size - 1 for e in edges)
    keep = np.ones(points.shape[0], bool)
    for d, e in enumerate(edges):
        keep &= (points[:, d] >= e[0]) & (points[:, d] <= e[-1])
    kept = points[keep]
    cells = tuple(
        np.minimum(np.searchsorted(e, kept[:, d], side="right") - 1, n - 1)
        for d, (e, n) in enumerate(zip(edges, counts))
    )
    flat = np.ravel_multi_index(cells, counts) if all(counts) else np.zeros(0, np.int64)
    w = None if weight is None else weight._data.reshape(-1)[keep]
    hist = np.bincount(flat, weights=w, minlength=math.prod(counts)).reshape(counts)
    if density:
        volume = functools.reduce(np.multiply.outer, [np.diff(e) for e in edges])
        hist = hist / (hist.sum() * volume)
    return histogramdd_result(wrap(hist.astype(points.dtype)), [wrap(e) for e in edges])


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


@numpy_kwargs
def quantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    """The ``q``-th quantiles of ``input`` along ``dim`` (all of it when None); a slice holding
    a NaN gives NaN."""
    return _quantile(input, q, dim, keepdim, interpolation, out, skip_nan=False)


@numpy_kwargs
def nanquantile(input, q, dim=None, keepdim=False, *, interpolation="linear", out=None):
    """The ``q``-th quantiles of ``input`` along ``dim`` (all of it when None), ignoring NaN;
    a slice of NaNs only gives NaN."""
    return _quantile(input, q, dim, keepdim, interpolation, out, skip_nan=True)


def _quantile(input, q, dim, keepdim, interpolation, out, skip_nan):
    reject_complex(
        input, "quantile", "quantile() input tensor must be either float or double dtype",
        RuntimeError,
    )  # fmt: skip
    if input._data.dtype.kind != "f":
        raise RuntimeError(
            "quantile() input tensor must be either float or double dtype, but got "
            f"{_dtype_name(input)}"
        )
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(
            "quantile() interpolation must be one of linear, lower, higher, midpoint or "
            f"nearest. Got {interpolation}"
        )
    qs = q._data if isinstance(q, Tensor) else np.asarray(q, dtype=input._data.dtype)
    if qs.ndim > 1:
        raise RuntimeError(f"quantile() q must be a scalar or 1D tensor, but got {qs.ndim}D")
    if isinstance(q, Tensor) and q._data.dtype != input._data.dtype:
        raise RuntimeError(
            "quantile() q tensor must be same dtype as the input tensor, but got "
            f"{_dtype_name(q)} and {_dtype_name(input)}"
        )
    if qs.size and ((qs < 0).any() or (qs > 1).any()):
        raise RuntimeError("quantile() q values must be in the range [0, 1]")
    if input.numel() == 0:
        raise IndexError("quantile() input tensor must be non-empty")
    if dim is None:
        x, d = input.reshape(-1), 0
    else:
        d = norm_dim(dim, max(input.dim(), 1), "quantile")
        x = input.reshape(1) if input.dim() == 0 else input
        keepdim = keepdim and input.dim() > 0  # a 0-d input's one dim is the whole tensor
    moved = x.movedim(d, -1)
    s = moved.sort(-1).values  # NaN sorts last
    valid = (~s.isnan()).sum(-1, keepdim=True)._data  # (..., 1): NaN sorts last
    ranks = qs.reshape(-1).astype(np.float64) * np.maximum(valid - 1, 0)  # (..., nq)
    if not skip_nan:  # a slice holding NaN takes its last (NaN) value, as PyTorch
        n = s._data.shape[-1]
        ranks = np.where(valid < n, n - 1, qs.reshape(-1) * (n - 1.0))
    lo, hi, weight = _interpolation(ranks, interpolation)
    below = s.gather(-1, wrap(lo))
    above = s.gather(-1, wrap(hi))
    result = below + (above - below) * wrap(weight.astype(s._data.dtype))
    result = result.movedim(-1, 0)  # (nq, ...)
    if keepdim:
        result = result.unsqueeze(d + 1) if dim is not None else result.reshape(
            (qs.size,) + (1,) * input.dim()
        )  # fmt: skip
    if qs.ndim == 0:
        result = result.squeeze(0)
    if out is not None:
        out._data = result._data.copy()
        out._bump_version()
        return out
    return result


def _interpolation(ranks, mode):
    """Positions (below, above) in the sorted slice and the weight of ``above``."""
    if mode == "lower":
        ranks = np.floor(ranks)
    elif mode == "higher":
        ranks = np.ceil(ranks)
    elif mode == "nearest":
        ranks = np.round(ranks)
    lo = np.floor(ranks).astype(np.int64)
    hi = np.ceil(ranks).astype(np.int64)
    weight = np.full(ranks.shape, 0.5) if mode == "midpoint" else ranks - lo
    if mode == "midpoint":
        weight = np.where(lo == hi, 0.0, weight)
    return lo, hi, weight


def dist(input, other, p=2):
    """The p-norm of ``input - other`` (broadcast)."""
    for t in (input, other):
        if t._data.dtype.kind not in "fc":
            raise RuntimeError(
                f"dist: expected a floating point or complex tensor as input. Got {_dtype_name(t)}"
            )
    try:
        np.broadcast_shapes(tuple(input.shape), tuple(other.shape))
    except ValueError:
        raise RuntimeError(
            f"dist: the shapes {list(input.shape)} and {list(other.shape)} cannot be broadcast "
            "together"
        ) from None
    return linalg.vector_norm(input - other, float(p))


@numpy_kwargs
def renorm(input, p, dim, maxnorm):
    """``input`` with each slice along ``dim`` whose p-norm exceeds ``maxnorm`` scaled down to
    norm ``maxnorm``."""
    if input._data.dtype.kind not in "fc":
        raise RuntimeError(f"renorm: input needs to be floating point. Got {_dtype_name(input)}")
    if p <= 0:
        raise RuntimeError(f"renorm: non-positive-norm not supported, got p = {p}")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {maxnorm}")
    if input.dim() <= 1:
        raise RuntimeError(
            f"renorm: input needs at least 2 dimensions, got {input.dim()} dimensions"
        )
    d = norm_dim(dim, input.dim(), "renorm")
    others = tuple(i for i in range(input.dim()) if i != d)
    norms = linalg.vector_norm(input, float(p), others, keepdim=True)
    factor = comparison.where(norms > maxnorm, maxnorm / (norms + 1e-7), 1.0)
    return input * factor.to(input.dtype)


@numpy_kwargs
def renorm_(self, p, dim, maxnorm):
    return inplace(self, renorm, p, dim, maxnorm)


def _spacings(spacing, dims, input):
    """Per dim either a float (uniform step) or a 1-D coordinate tensor."""
    if isinstance(spacing, int | float):
        return [float(spacing)] * len(dims)
    if isinstance(spacing, Tensor):
        if spacing.dim() != 0:
            raise RuntimeError(
                "torch.gradient expected spacing to be unspecified, a scalar or a list"
            )
        return [float(spacing.item())] * len(dims)
    spacing = list(spacing)
    if len(spacing) != len(dims):
        raise RuntimeError(
            f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing and "
            f"dim arguments to have the same length, but got a spacing argument of length "
            f"{len(spacing)} and a dim argument of length {len(dims)}."
        )
    out = []
    for s, d in zip(spacing, dims):
        if isinstance(s, Tensor) and s.dim() == 1:
            if s.numel() != input.shape[d]:
                raise RuntimeError(
                    f"torch.gradient expected each tensor to be on the same device and of the "
                    f"same size as the input along dim {d}, but got {s.numel()} coordinates "
                    f"for size {input.shape[d]}"
                )
            out.append(s.to(input.dtype))
        else:
            out.append(float(s.item() if isinstance(s, Tensor) else s))
    return out


def _along(t, d, start, stop):
    return t.narrow(d, start, stop - start)


def _gradient_1d(f, d, h, edge_order):
    n = f.shape[d]
    if isinstance(h, float):
        interior = (_along(f, d, 2, n) - _along(f, d, 0, n - 2)) / (2 * h)
        if edge_order == 1:
            first = (_along(f, d, 1, 2) - _along(f, d, 0, 1)) / h
            last = (_along(f, d, n - 1, n) - _along(f, d, n - 2, n - 1)) / h
        else:
            f0, f1, f2 = (_along(f, d, i, i + 1) for i in range(3))
            l0, l1, l2 = (_along(f, d, n - 1 - i, n - i) for i in range(3))
            first = (-1.5 * f0 + 2 * f1 - 0.5 * f2) / h
            last = (1.5 * l0 - 2 * l1 + 0.5 * l2) / h
        return shape.cat([first, interior, last], d)
    view = [1] * f.dim()
    view[d] = -1
    dx = (h[1:] - h[:-1]).reshape(view)
    a, b = _along(dx, d, 0, n - 2), _along(dx, d, 1, n - 1)  # the steps left and right
    interior = (
        -b / (a * (a + b)) * _along(f, d, 0, n - 2)
        + (b - a) / (a * b) * _along(f, d, 1, n - 1)
        + a / (b * (a + b)) * _along(f, d, 2, n)
    )
    if edge_order == 1:
        first = (_along(f, d, 1, 2) - _along(f, d, 0, 1)) / _along(dx, d, 0, 1)
        last = (_along(f, d, n - 1, n) - _along(f, d, n - 2, n - 1)) / _along(dx, d, n - 2, n - 1)
    else:
        d1, d2 = _along(dx, d, 0, 1), _along(dx, d, 1, 2)
        first = (
            -(2 * d1 + d2) / (d1 * (d1 + d2)) * _along(f, d, 0, 1)
            + (d1 + d2) / (d1 * d2) * _along(f, d, 1, 2)
            - d1 / (d2 * (d1 + d2)) * _along(f, d, 2, 3)
        )
        e1, e2 = _along(dx, d, n - 3, n - 2), _along(dx, d, n - 2, n - 1)
        last = (
            e2 / (e1 * (e1 + e2)) * _along(f, d, n - 3, n - 2)
            - (e1 + e2) / (e1 * e2) * _along(f, d, n - 2, n - 1)
            + (2 * e2 + e1) / (e2 * (e1 + e2)) * _along(f, d, n - 1, n)
        )
    return shape.cat([first, interior, last], d)


@numpy_kwargs
def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """Estimates of the derivative of the function sampled by ``input`` along each of ``dim``,
    by central differences inside and one-sided differences of order ``edge_order`` at the
    edges; ``spacing`` is a step (per dim) or the sample coordinates (1-D tensors)."""
    if edge_order not in (1, 2):
        raise RuntimeError(
            f"torch.gradient only supports edge_order=1 and edge_order=2, got {edge_order}"
        )
    if isinstance(dim, int):
        dims = (norm_dim(dim, input.dim(), "gradient"),)
    else:
        dims = norm_dims(dim, input.dim(), "gradient")
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError(
                "torch.gradient expected each dimension size to be at least edge_order+1"
            )
    if input._data.dtype.kind in "iub":
        input = input.to(_dtype.get_default_dtype())
    hs = _spacings(spacing, dims, input)
    return tuple(_gradient_1d(input, d, h, edge_order) for d, h in zip(dims, hs))


METHODS = {
    "cov": cov, "corrcoef": corrcoef, "histc": histc, "histogram": histogram,
    "quantile": quantile, "nanquantile": nanquantile, "dist": dist, "renorm": renorm,
    "renorm_": renorm_,
}  # fmt: skip
"""Tensor methods of this family, bound by ``_methods.py``."""
