"""Pooling regions of interest: `roi_align` (bilinear samples averaged) and `roi_pool` (max).

Boxes are a (K, 5) tensor of (batch index, x1, y1, x2, y2) rows, or a list with one (L, 4)
tensor per image. Where each sample falls is worked out with NumPy from the box coordinates;
the values are then gathered from the features with ember ops, so gradients flow to the
features (not to the boxes, as in torchvision).
"""

import math

import numpy as np

import ember
from ember import Tensor

__all__ = ["roi_align", "roi_pool", "RoIAlign", "RoIPool"]


def _rois(boxes, op):
    """(K, 5) float64 NumPy rows from either box layout."""
    if isinstance(boxes, list | tuple):
        rows = []
        for i, b in enumerate(boxes):
            if b.dim() != 2 or b.shape[1] != 4:
                raise ValueError(
                    f"{op}: each boxes tensor must have shape (L, 4), got {tuple(b.shape)}"
                )
            a = b.detach().numpy().astype(np.float64)
            rows.append(np.concatenate([np.full((len(a), 1), i, np.float64), a], axis=1))
        return np.concatenate(rows) if rows else np.zeros((0, 5))
    if not isinstance(boxes, Tensor) or boxes.dim() != 2 or boxes.shape[1] != 5:
        shape = tuple(boxes.shape) if isinstance(boxes, Tensor) else type(boxes).__name__
        raise ValueError(
            f"{op}: boxes must be a (K, 5) tensor or a list of (L, 4) tensors, got {shape}"
        )
    return boxes.detach().numpy().astype(np.float64)


def _size(output_size):
    return (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)


def _check_input(input, op):
    if not isinstance(input, Tensor) or input.dim() != 4:
        shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
        raise ValueError(f"{op}: input must be an (N, C, H, W) tensor, got {shape}")


def _bilinear_corners(coords, size):
    """Per sample coordinate: low/high indices, their weights, and whether it counts at all."""
    inside = (coords >= -1.0) & (coords <= size)
    c = np.clip(coords, 0, None)
    low = np.floor(c).astype(np.int64)
    at_edge = low >= size - 1
    low = np.where(at_edge, size - 1, low)
    high = np.where(at_edge, size - 1, low + 1)
    c = np.where(at_edge, low, c)
    frac = c - low
    return low, high, 1 - frac, frac, inside


def _axis_samples(start, length, pooled, grid):
    """Sample coordinates along one axis: ``pooled`` bins of ``grid`` evenly spaced samples."""
    step = length / pooled
    bins = np.arange(pooled)[:, None]
    within = (np.arange(grid)[None, :] + 0.5) * step / grid
    return (start + bins * step + within).reshape(-1)


def roi_align(input, boxes, output_size, spatial_scale=1.0, sampling_ratio=-1, aligned=False):
    """The average of bilinear samples over each of ``output_size`` bins of every box."""
    _check_input(input, "roi_align")
    rois = _rois(boxes, "roi_align")
    ph, pw = _size(output_size)
    n, c, height, width = input.shape
    flat = input.reshape(n, c, height * width)
    offset = 0.5 if aligned else 0.0
    outputs = []
    for b, x1, y1, x2, y2 in rois:
        start_w, start_h = x1 * spatial_scale - offset, y1 * spatial_scale - offset
        roi_w, roi_h = (x2 - x1) * spatial_scale, (y2 - y1) * spatial_scale
        if not aligned:
            roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
        gh = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_h / ph)
        gw = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_w / pw)
        count = max(gh * gw, 1)
        ys = _axis_samples(start_h, roi_h, ph, gh)
        xs = _axis_samples(start_w, roi_w, pw, gw)
        yl, yh, wyl, wyh, yin = _bilinear_corners(ys, height)
        xl, xh, wxl, wxh, xin = _bilinear_corners(xs, width)
        valid = (yin[:, None] & xin[None, :]).astype(np.float64)
        index, weight = [], []
        for yi, wy in ((yl, wyl), (yh, wyh)):
            for xi, wx in ((xl, wxl), (xh, wxh)):
                index.append((yi[:, None] * width + xi[None, :]).reshape(-1))
                weight.append((wy[:, None] * wx[None, :] * valid).reshape(-1))
        feature = flat[int(b)]
        picked = feature.index_select(1, ember.tensor(np.concatenate(index)))
        w = ember.tensor(np.concatenate(weight), dtype=input.dtype)
        samples = (picked * w).reshape(c, 4, ph, gh, pw, gw).sum(dim=(1, 3, 5))
        outputs.append(samples / count)
    if not outputs:
        return input.new_zeros((0, c, ph, pw))
    return ember.stack(outputs)


def _round_half_away(x):
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def roi_pool(input, boxes, output_size, spatial_scale=1.0):
    """The maximum over each of ``output_size`` bins of every box (empty bins give 0)."""
    _check_input(input, "roi_pool")
    rois = _rois(boxes, "roi_pool")
    ph, pw = _size(output_size)
    n, c, height, width = input.shape
    flat = input.reshape(n, c * height * width)
    values = input.detach().numpy()
    outputs = []
    for b, x1, y1, x2, y2 in rois:
        sw, sh, ew, eh = (int(_round_half_away(v * spatial_scale)) for v in (x1, y1, x2, y2))
        roi_w, roi_h = max(ew - sw + 1, 1), max(eh - sh + 1, 1)
        bin_h, bin_w = roi_h / ph, roi_w / pw
        index = np.zeros((c, ph, pw), dtype=np.int64)
        filled = np.zeros((c, ph, pw), dtype=bool)
        for i in range(ph):
            h0 = min(max(math.floor(i * bin_h) + sh, 0), height)
            h1 = min(max(math.ceil((i + 1) * bin_h) + sh, 0), height)
            for j in range(pw):
                w0 = min(max(math.floor(j * bin_w) + sw, 0), width)
                w1 = min(max(math.ceil((j + 1) * bin_w) + sw, 0), width)
                if h1 <= h0 or w1 <= w0:
                    continue
                window = values[int(b), :, h0:h1, w0:w1].reshape(c, -1)
                best = window.argmax(axis=1)
                rows, cols = h0 + best // (w1 - w0), w0 + best % (w1 - w0)
                index[:, i, j] = np.arange(c) * height * width + rows * width + cols
                filled[:, i, j] = True
        picked = flat[int(b)].index_select(0, ember.tensor(index.reshape(-1))).reshape(c, ph, pw)
        outputs.append(picked * ember.tensor(filled, dtype=input.dtype))
    if not outputs:
        return input.new_zeros((0, c, ph, pw))
    return ember.stack(outputs)


class RoIAlign(ember.nn.Module):
    def __init__(self, output_size, spatial_scale, sampling_ratio, aligned=False):
        super().__init__()
        self.output_size, self.spatial_scale = output_size, spatial_scale
        self.sampling_ratio, self.aligned = sampling_ratio, aligned

    def forward(self, input, rois):
        return roi_align(
            input, rois, self.output_size, self.spatial_scale, self.sampling_ratio, self.aligned
        )

    def extra_repr(self):
        return (
            f"output_size={self.output_size}, spatial_scale={self.spatial_scale}, "
            f"sampling_ratio={self.sampling_ratio}, aligned={self.aligned}"
        )


class RoIPool(ember.nn.Module):
    def __init__(self, output_size, spatial_scale):
        super().__init__()
        self.output_size, self.spatial_scale = output_size, spatial_scale

    def forward(self, input, rois):
        return roi_pool(input, rois, self.output_size, self.spatial_scale)

    def extra_repr(self):
        return f"output_size={self.output_size}, spatial_scale={self.spatial_scale}"
