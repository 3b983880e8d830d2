"""Resizing: ``interpolate`` (nearest, nearest-exact, linear, bilinear, bicubic, trilinear, area).

Every mode is separable: along each spatial axis the output is a fixed linear map of the
input, a matrix W (out, in) with at most four non-zeros per row. Interpolating modes apply W
along each axis as one 2-D matrix product (BLAS); backward is the same op with each W
transposed, so double backward comes free. Nearest modes copy values with a gather per axis (so
inf and nan are copied, not multiplied by zero); its adjoint sums runs of equal indices.

Source coordinates follow PyTorch's CPU kernels, computed in the input's precision (float32
arithmetic for float32 inputs), so the chosen pixels and weights are the same.
"""

import math
import warnings

import numpy as np

from ember._ops import pool
from ember.autograd.function import ArrayFunction

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear"]

_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_SPATIAL = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def _scale(in_size, out_size, scale, align_corners, ftype):
    """PyTorch's per-axis scale: (in-1)/(out-1) with align_corners, else 1/scale or in/out."""
    if align_corners:
        return ftype((in_size - 1) / (out_size - 1)) if out_size > 1 else ftype(0)
    if scale is not None and scale > 0:
        return ftype(1.0 / scale)
    return ftype(in_size) / ftype(out_size)


def _nearest_index(in_size, out_size, scale, exact):
    dst = np.arange(out_size, dtype=np.float32)
    if not exact and out_size == in_size:
        return np.arange(out_size)
    if not exact and out_size == 2 * in_size:
        return np.arange(out_size) // 2
    s = _scale(in_size, out_size, scale, False, np.float32)
    src = np.floor((dst + np.float32(0.5)) * s if exact else dst * s).astype(np.int64)
    return np.minimum(src, in_size - 1)


def _cubic_weights(t):
    """Cubic convolution (a = -0.75) weights of the taps at offsets -1, 0, 1, 2."""
    a = -0.75

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], -1)


def _weights(in_size, out_size, scale, mode, align_corners, ftype):
    """The (out, in) matrix W of one spatial axis for an interpolating mode."""
    W = np.zeros((out_size, in_size), ftype)
    rows = np.arange(out_size)
    if mode != "bicubic" and out_size == in_size and not align_corners:
        W[rows, rows] = 1
        return W
    s = _scale(in_size, out_size, scale, align_corners, ftype)
    dst = rows.astype(ftype)
    src = s * dst if align_corners else s * (dst + ftype(0.5)) - ftype(0.5)
    if mode == "bicubic":
        base = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
        t = np.clip(src - base, 0, 1).astype(ftype)
        cols = np.clip(base[:, None] + np.arange(-1, 3), 0, in_size - 1)
        np.add.at(W, (np.repeat(rows, 4), cols.ravel()), _cubic_weights(t).ravel())
        return W
    src = np.maximum(src, ftype(0))
    i0 = np.minimum(src.astype(np.int64), in_size - 1)
    i1 = i0 + (i0 < in_size - 1)
    lam1 = np.clip(src - i0, 0, 1).astype(ftype)
    np.add.at(W, (rows, i0), 1 - lam1)
    np.add.at(W, (rows, i1), lam1)
    return W


def _along(x, W, axis):
    """Apply W (out, in) along ``axis`` of the array x as one 2-D matrix product."""
    if axis == x.ndim - 1:
        return (x.reshape(-1, x.shape[-1]) @ W.T).reshape(*x.shape[:-1], W.shape[0])
    front = np.moveaxis(x, axis, 0)
    y = W @ front.reshape(x.shape[axis], -1)
    return np.moveaxis(y.reshape(W.shape[0], *front.shape[1:]), 0, axis)


class _Separable(ArrayFunction):
    """Apply one (out, in) matrix per spatial axis; backward is the same op with W^T."""

    @staticmethod
    def forward(ctx, x, weights):
        ctx.weights = weights  # interpolation matrices built by the caller, not user tensors
        for axis in range(len(weights) - 1, -1, -1):  # the contiguous last axis first
            x = _along(x, weights[axis], axis + 2)
        return np.ascontiguousarray(x)

    @staticmethod
    def backward(ctx, grad):
        return _Separable.apply(grad, tuple(W.T for W in ctx.weights)), None


class _NearestGather(ArrayFunction):
    """x[..., i_1, ..., i_k]: a gather along each spatial axis (indices non-decreasing)."""

    @staticmethod
    def forward(ctx, x, indices):
        ctx.in_sizes = x.shape[2:]
        ctx.indices = indices  # source positions computed by the caller, not user tensors
        for axis, idx in enumerate(indices):
            x = np.take(x, idx, axis=axis + 2)
        return x

    @staticmethod
    def backward(ctx, grad):
        return _NearestScatter.apply(grad, ctx.indices, ctx.in_sizes), None


def _sum_runs(g, idx, n, axis):
    """Sum the slices of g along ``axis`` that share a source index (the gather's adjoint)."""
    k = len(idx) // n
    if k * n == len(idx) and np.array_equal(idx, np.arange(len(idx)) // k):
        # an integer factor: k interleaved strided slices, added
        lead = (slice(None),) * axis
        return sum(g[(*lead, slice(j, None, k))] for j in range(k))
    sources, starts = np.unique(idx, return_index=True)
    sums = np.add.reduceat(g, starts, axis=axis)
    if len(sources) == n:
        return sums
    full = np.zeros((*g.shape[:axis], n, *g.shape[axis + 1 :]), g.dtype)
    full[(slice(None),) * axis + (sources,)] = sums
    return full


class _NearestScatter(ArrayFunction):
    """The adjoint of the gather: sums each run of equal indices along each axis."""

    @staticmethod
    def forward(ctx, g, indices, in_sizes):
        ctx.indices = indices  # as in _NearestGather
        for axis, (idx, n) in enumerate(zip(indices, in_sizes)):
            g = _sum_runs(g, idx, n, axis + 2)
        return np.ascontiguousarray(g)

    @staticmethod
    def backward(ctx, grad):
        return _NearestGather.apply(grad, ctx.indices), None, None


def _check_sizes(input, size, scale_factor, recompute_scale_factor):
    """Output size per spatial axis and the scale each kernel uses (None: in/out)."""
    dim = input.dim() - 2
    spatial = list(input.shape[2:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        if isinstance(size, list | tuple):
            if len(size) != dim:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but got "
                    f"input with spatial dimensions of {spatial} and output size of {size}. "
                    "Please provide input tensor in (N, C, d1, d2, ...,dK) format and output "
                    "size in (o1, o2, ...,oK) format."
                )
            sizes = [int(s) for s in size]
        else:
            sizes = [int(size)] * dim
        return sizes, [None] * dim
    if isinstance(scale_factor, list | tuple):
        if len(scale_factor) != dim:
            raise ValueError(
                "Input and scale_factor must have the same number of spatial dimensions, but "
                f"got input with spatial dimensions of {spatial} and scale_factor of shape "
                f"{scale_factor}. Please provide input tensor in (N, C, d1, d2, ...,dK) format "
                "and scale_factor in (s1, s2, ...,sK) format."
            )
        scales = [float(s) for s in scale_factor]
    else:
        scales = [float(scale_factor)] * dim
    sizes = [math.floor(n * s) for n, s in zip(spatial, scales)]
    return sizes, [None] * dim if recompute_scale_factor else scales


def interpolate(
    input,
    size=None,
    scale_factor=None,
    mode="nearest",
    align_corners=None,
    recompute_scale_factor=None,
    antialias=False,
):
    """Resize (N, C, *spatial) to ``size`` or by ``scale_factor``, as ``torch.nn.functional``."""
    if mode not in _MODES:
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.dim()}D) for "
            "the modes: nearest | linear | bilinear | bicubic | trilinear | area | "
            f"nearest-exact (got {mode})"
        )
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(
                "align_corners option can only be set with the interpolating modes: "
                "linear | bilinear | bicubic | trilinear"
            )
    elif align_corners is None:
        align_corners = False
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported by ember")
    if input.dim() not in (3, 4, 5):
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.dim()}D) for "
            "the modes: nearest | linear | bilinear | bicubic | trilinear | area | "
            f"nearest-exact (got {mode})"
        )
    if mode in _SPATIAL and _SPATIAL[mode] != input.dim() - 2:
        raise NotImplementedError(
            f"Got {input.dim()}D input, but {mode} mode needs {_SPATIAL[mode] + 2}D input"
        )
    if mode == "area" and size is None:
        recompute_scale_factor = True
    sizes, scales = _check_sizes(input, size, scale_factor, recompute_scale_factor)
    for n, s in zip(input.shape[2:], sizes):
        if s <= 0 or n <= 0:
            raise RuntimeError(
                f"interpolate: input {list(input.shape[2:])} and output {sizes} sizes should "
                "be greater than 0"
            )
    if mode == "area":
        return _area(input, sizes)
    if mode in ("nearest", "nearest-exact"):
        exact = mode == "nearest-exact"
        indices = tuple(
            _nearest_index(n, s, sc, exact) for n, s, sc in zip(input.shape[2:], sizes, scales)
        )
        return _NearestGather.apply(input, indices)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"\"upsample_{mode}\" not implemented for '{input.dtype}'")
    ftype = input._data.dtype.type if input._data.dtype.itemsize >= 4 else np.float32
    weights = tuple(
        _weights(n, s, sc, mode, align_corners, ftype).astype(input._data.dtype, copy=False)
        for n, s, sc in zip(input.shape[2:], sizes, scales)
    )
    return _Separable.apply(input, weights)


def _area(input, sizes):
    if input.dim() == 3:
        return pool.adaptive_avg_pool1d(input, sizes[0])
    if input.dim() == 4:
        return pool.adaptive_avg_pool2d(input, sizes)
    raise NotImplementedError("interpolate: mode 'area' supports 3D and 4D inputs")


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of :func:`interpolate`."""
    warnings.warn(
        "`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` instead.",
        stacklevel=2,
    )
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode='nearest')``."""
    warnings.warn(
        "`nn.functional.upsample_nearest` is deprecated. Use `nn.functional.interpolate` instead.",
        stacklevel=2,
    )
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: ``interpolate(..., mode='bilinear', align_corners=True)``."""
    warnings.warn(
        "`nn.functional.upsample_bilinear` is deprecated. Use `nn.functional.interpolate` instead.",
        stacklevel=2,
    )
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
