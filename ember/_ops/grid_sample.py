"""Spatial transformers: ``affine_grid`` and ``grid_sample`` (2-D and 3-D), as in PyTorch.

``grid_sample`` reads the input (N, C, H, W) at the points of a grid (N, Ho, Wo, 2) of
normalised (x, y) coordinates in [-1, 1] (or (N, C, D, H, W) at (x, y, z) points). The input
is viewed channels-last, so each tap of every output point (1 nearest, 4 bilinear,
8 trilinear, 16 bicubic) is one row gather of C contiguous values; backward scatters those
rows back with ``np.add.at`` and differentiates the tap weights for the grid. Coordinates
are computed in the input's precision, as PyTorch's CPU kernel does.
"""

import itertools
import math
import warnings

import numpy as np

from ember._tensor import wrap
from ember.autograd.function import ArrayFunction, recorded_backward
from ember.autograd.grad_mode import is_grad_enabled

__all__ = ["affine_grid", "grid_sample"]

_ALIGN_WARNING = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False since "
    "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
    "documentation of grid_sample for details."
)


def affine_grid(theta, size, align_corners=None):
    """Sampling grid (N, H, W, 2) of the affine maps theta (N, 2, 3) for an output ``size``."""
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if not theta.dtype.is_floating_point:
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = list(size)
    if len(size) == 4:
        if theta.dim() != 3 or tuple(theta.shape[-2:]) != (2, 3):
            raise ValueError(
                f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {size}. Got "
                f"{list(theta.shape)}."
            )
    elif len(size) == 5:
        if theta.dim() != 3 or tuple(theta.shape[-2:]) != (3, 4):
            raise ValueError(
                f"Expected a batch of 3D affine matrices of shape Nx3x4 for size {size}. Got "
                f"{list(theta.shape)}."
            )
    else:
        raise NotImplementedError(
            "affine_grid only supports 4D and 5D sizes, for 2D and 3D affine transforms, "
            f"respectively. Got size {size}."
        )
    if min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    if align_corners and min(size[2:]) == 1:
        warnings.warn(
            "Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
            "align_corners=True. This is not an intended use case of affine_grid. See the "
            "documentation of affine_grid for details.",
            stacklevel=2,
        )
    if theta.shape[0] != size[0]:
        raise ValueError(
            f"affine_grid: theta has batch size {theta.shape[0]} but size has {size[0]}"
        )
    spatial = size[2:][::-1]  # x first: W, H (, D)
    dtype = theta._data.dtype
    axes = [_base_coords(n, align_corners, dtype) for n in spatial]
    mesh = np.meshgrid(*axes[::-1], indexing="ij")[::-1]  # (D,) H, W grids of x, y (, z)
    base = np.stack([m.ravel() for m in mesh] + [np.ones(mesh[0].size, dtype)])  # (k+1, P)
    k = len(spatial)
    grid = theta.reshape(size[0] * k, k + 1) @ wrap(base)  # (N k, P): one 2-D product
    return grid.reshape(size[0], k, *size[2:]).movedim(1, -1)


def _base_coords(n, align_corners, dtype):
    coords = np.linspace(-1, 1, n, dtype=dtype) if n > 1 else np.zeros(1, dtype)
    return coords if align_corners else coords * dtype.type((n - 1) / n)


def _unnormalize(coord, size, align_corners):
    """Grid coordinate in [-1, 1] -> pixel coordinate, and d(pixel)/d(coord)."""
    if align_corners:
        return (coord + 1) / 2 * (size - 1), coord.dtype.type((size - 1) / 2)
    return ((coord + 1) * size - 1) / 2, coord.dtype.type(size / 2)


def _reflect(coord, twice_low, twice_high):
    """Reflect coord into [low, high] (halves of the arguments), and the sign of d/dcoord."""
    if twice_low == twice_high:
        return np.zeros_like(coord), np.zeros_like(coord)
    low = coord.dtype.type(twice_low / 2)
    span = coord.dtype.type((twice_high - twice_low) / 2)
    shifted = coord - low
    sign = np.where(shifted < 0, -1, 1).astype(coord.dtype)
    shifted = np.abs(shifted)
    extra = np.fmod(shifted, span)
    flips = np.floor(shifted / span)
    even = flips % 2 == 0
    out = np.where(even, extra + low, span - extra + low)
    return out, np.where(even, sign, -sign)


def _source(coord, size, padding_mode, align_corners):
    """Pixel coordinate after padding, and its derivative with respect to the grid value."""
    x, d = _unnormalize(coord, size, align_corners)
    return _pad(x, np.full_like(x, d), size, padding_mode, align_corners)


def _pad(x, d, size, padding_mode, align_corners):
    """Apply the padding mode to pixel coordinates x with derivative d."""
    if padding_mode == "reflection":
        if align_corners:
            x, s = _reflect(x, 0, 2 * (size - 1))
        else:
            x, s = _reflect(x, -1, 2 * size - 1)
        d = d * s
    if padding_mode in ("border", "reflection"):
        inside = (x > 0) & (x < size - 1)
        x = np.clip(x, 0, size - 1)
        d = d * inside
    return x, d


def _cubic(t):
    """Cubic convolution (a = -0.75) weights of the taps at -1, 0, 1, 2, and d/dt of each."""
    a = -0.75

    def near(x):
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def near_d(x):
        return (3 * (a + 2) * x - 2 * (a + 3)) * x

    def far(x):
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    def far_d(x):
        return (3 * a * x - 10 * a) * x + 8 * a

    weights = [far(t + 1), near(t), near(1 - t), far(2 - t)]
    grads = [far_d(t + 1), near_d(t), -near_d(1 - t), -far_d(2 - t)]
    return weights, grads


def _flat_index(points, sizes):
    """Row of each integer point (x, y, (z)) in the flattened spatial axes, and in-bounds."""
    inside = np.ones(points[0].shape, bool)
    flat, stride = 0, 1
    for p, n in zip(points, sizes):
        inside &= (p >= 0) & (p <= n - 1)
        flat = flat + np.clip(p, 0, n - 1).astype(np.int64) * stride
        stride *= n
    return flat, inside.astype(points[0].dtype)


def _bicubic_taps(coords, sizes, padding_mode, align_corners):
    """16 taps around each point; padding applies to each tap's integer coordinate."""
    (gx, gy), (W, H) = coords, sizes
    ix, dix = _unnormalize(gx, W, align_corners)
    iy, diy = _unnormalize(gy, H, align_corners)
    x0, y0 = np.floor(ix), np.floor(iy)
    (wxs, dwxs), (wys, dwys) = _cubic(ix - x0), _cubic(iy - y0)
    taps = []
    for j, (wy, dwy) in enumerate(zip(wys, dwys)):
        ys, _ = _pad(y0 - 1 + j, np.zeros_like(iy), H, padding_mode, align_corners)
        for i, (wx, dwx) in enumerate(zip(wxs, dwxs)):
            xs, _ = _pad(x0 - 1 + i, np.zeros_like(ix), W, padding_mode, align_corners)
            flat, inside = _flat_index((xs, ys), sizes)
            taps.append((flat, wx * wy * inside, (dwx * wy * inside, wx * dwy * inside)))
    return taps, [np.full_like(ix, dix), np.full_like(iy, diy)]


def _taps(points, sizes, mode):
    """(flat index, weight, d weight / d coordinate per axis) of each tap.

    Taps outside the input get weight 0 (zeros padding; the other modes have already moved
    every point inside).
    """
    if mode == "nearest":
        flat, inside = _flat_index([np.rint(p) for p in points], sizes)
        return [(flat, inside, tuple(np.zeros_like(p) for p in points))]
    base = [np.floor(p) for p in points]
    frac = [p - b for p, b in zip(points, base)]
    taps = []
    for corner in itertools.product((0, 1), repeat=len(points)):
        factors = [t if c else 1 - t for t, c in zip(frac, corner)]
        flat, inside = _flat_index([b + c for b, c in zip(base, corner)], sizes)
        weight = math.prod(factors) * inside
        grads = tuple(
            (1 if c else -1) * math.prod(factors[:a] + factors[a + 1 :]) * inside
            for a, c in enumerate(corner)
        )
        taps.append((flat, weight, grads))
    return taps


class GridSample(ArrayFunction):
    """input (N, C, *in) sampled at grid (N, *out, k) -> (N, C, *out), k = 2 or 3."""

    @staticmethod
    def forward(ctx, input, grid, mode, padding_mode, align_corners):
        N, C = input.shape[:2]
        sizes = input.shape[2:][::-1]  # in grid order: W, H (, D)
        coords = [grid[..., a].reshape(N, -1) for a in range(grid.shape[-1])]
        if mode == "bicubic":
            taps, derivs = _bicubic_taps(coords, sizes, padding_mode, align_corners)
        else:
            sources = [_source(c, n, padding_mode, align_corners) for c, n in zip(coords, sizes)]
            taps = _taps([p for p, _ in sources], sizes, mode)
            derivs = [d for _, d in sources]
        offsets = (np.arange(N) * math.prod(sizes))[:, None]
        rows = np.ascontiguousarray(np.moveaxis(input, 1, -1)).reshape(-1, C)
        out = np.zeros((coords[0].size, C), input.dtype)
        values = []
        for flat, w, _ in taps:
            v = rows[(flat + offsets).ravel()]
            values.append(v)
            out += v * w.reshape(-1, 1)
        # taps, gathered values and derivatives are this pass's own arrays; the inputs are
        # saved only for the version check, as torch
        ctx.state = (input.shape, grid.shape, taps, values, offsets, derivs)
        ctx.modes = (mode, padding_mode, align_corners)
        ctx.save_for_backward(input, grid)
        out = out.reshape(N, *grid.shape[1:-1], C)
        return np.ascontiguousarray(np.moveaxis(out, -1, 1))

    @staticmethod
    def backward(ctx, grad):
        if is_grad_enabled():  # create_graph: differentiate the op written with ember ops
            g_input, g_grid, *rest = recorded_backward(ctx, _reference(*ctx.modes), (grad,))
            if g_grid is None and ctx.needs_input_grad[1]:  # nearest: zero, as PyTorch
                g_grid = wrap(np.zeros(ctx.state[1], grad._data.dtype))
            return g_input, g_grid, *rest
        _ = ctx.saved_tensors  # raises if an input was modified in place since forward
        in_shape, g_shape, taps, values, offsets, derivs = ctx.state
        C = in_shape[1]
        g = np.moveaxis(grad._data, 1, -1).reshape(-1, C)
        g_input = g_grid = None
        if ctx.needs_input_grad[0]:
            rows = np.zeros((math.prod(in_shape) // C, C), g.dtype)
            for flat, w, _ in taps:
                np.add.at(rows, (flat + offsets).ravel(), g * w.reshape(-1, 1))
            rows = rows.reshape(in_shape[0], *in_shape[2:], C)
            g_input = wrap(np.ascontiguousarray(np.moveaxis(rows, -1, 1)))
        if ctx.needs_input_grad[1]:
            per_axis = [np.zeros(g.shape[0], g.dtype) for _ in derivs]
            for (_, _, grads), v in zip(taps, values):
                gv = np.einsum("pc,pc->p", g, v)
                for acc, dw in zip(per_axis, grads):
                    acc += gv * dw.ravel()
            parts = [acc * d.ravel() for acc, d in zip(per_axis, derivs)]
            g_grid = wrap(np.stack(parts, -1).reshape(g_shape))
        return g_input, g_grid, None, None, None


def _reference(mode, padding_mode, align_corners):
    """grid_sample written with differentiable ember ops (for a backward that is recorded):
    a weighted sum of gathered input rows, the weights differentiable in the grid."""

    def run(input, grid):
        n, c = input.shape[:2]
        sizes = tuple(input.shape[2:])[::-1]
        coords = grid.reshape(n, -1, len(sizes))
        offsets = (np.arange(n) * math.prod(sizes))[:, None]
        rows = input.movedim(1, -1).reshape(-1, c)
        out = 0
        for flat, weight in _tensor_taps(coords, sizes, mode, padding_mode, align_corners):
            out = out + rows[wrap((flat + offsets).ravel())] * weight.reshape(-1, 1)
        return (out.reshape(n, *grid.shape[1:-1], c).movedim(-1, 1),)

    return run


def _moving(coord, value, deriv):
    """A tensor equal to ``value`` whose derivative in ``coord`` is ``deriv`` (the pixel
    coordinates are piecewise linear in the grid, so this is exact to every order)."""
    return wrap(value) + (coord - coord.detach()) * wrap(deriv)


def _tensor_taps(coords, sizes, mode, padding_mode, align_corners):
    """(flat index, weight tensor) of each tap, as `_taps` and `_bicubic_taps`."""
    axes = [coords[..., a] for a in range(len(sizes))]
    if mode == "bicubic":
        (gx, gy), (W, H) = axes, sizes
        ix, dix = _unnormalize(gx._data, W, align_corners)
        iy, diy = _unnormalize(gy._data, H, align_corners)
        x0, y0 = np.floor(ix), np.floor(iy)
        wxs, _ = _cubic(_moving(gx, ix, np.full_like(ix, dix)) - wrap(x0))
        wys, _ = _cubic(_moving(gy, iy, np.full_like(iy, diy)) - wrap(y0))
        for j, wy in enumerate(wys):
            ys, _ = _pad(y0 - 1 + j, np.zeros_like(iy), H, padding_mode, align_corners)
            for i, wx in enumerate(wxs):
                xs, _ = _pad(x0 - 1 + i, np.zeros_like(ix), W, padding_mode, align_corners)
                flat, inside = _flat_index((xs, ys), sizes)
                yield flat, wx * wy * wrap(inside)
        return
    sources = [_source(a._data, n, padding_mode, align_corners) for a, n in zip(axes, sizes)]
    if mode == "nearest":
        flat, inside = _flat_index([np.rint(p) for p, _ in sources], sizes)
        yield flat, wrap(inside)
        return
    base = [np.floor(p) for p, _ in sources]
    frac = [_moving(a, p, d) - wrap(b) for a, (p, d), b in zip(axes, sources, base)]
    for corner in itertools.product((0, 1), repeat=len(sizes)):
        factors = [f if c else 1 - f for f, c in zip(frac, corner)]
        flat, inside = _flat_index([b + c for b, c in zip(base, corner)], sizes)
        yield flat, math.prod(factors) * wrap(inside)


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Sample ``input`` at the normalised (x, y) or (x, y, z) points of ``grid``.

    Modes bilinear (trilinear for 5-D input), nearest (round half to even) and, for 4-D
    input, bicubic (a = -0.75).
    """
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(
            "nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or "
            f"'bicubic', but got: '{mode}'"
        )
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(
            "nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
            f"'reflection', but got: '{padding_mode}'"
        )
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    sizes = f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}"
    if input.dim() not in (4, 5) or input.dim() != grid.dim():
        raise RuntimeError(
            "grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, "
            f"but got {sizes}"
        )
    if input.dtype != grid.dtype:
        raise RuntimeError(
            "grid_sampler(): expected input and grid to have same dtype, but input has "
            f"{input.dtype} and grid has {grid.dtype}"
        )
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(
            f"grid_sampler(): expected grid and input to have same batch size, but got {sizes}"
        )
    if grid.shape[-1] != input.dim() - 2:
        raise RuntimeError(
            f"grid_sampler(): expected grid to have size {input.dim() - 2} in last dimension, "
            f"but got grid with sizes {list(grid.shape)}"
        )
    if any(n <= 0 for n in input.shape[2:]):
        raise RuntimeError(
            f"grid_sampler(): expected input to have non-empty spatial dimensions, but {sizes}"
        )
    if input.dim() == 5 and mode == "bicubic":
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    return GridSample.apply(input, grid, mode, padding_mode, align_corners)
