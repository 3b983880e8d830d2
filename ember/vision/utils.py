"""``make_grid`` and ``save_image``: a batch of images as one picture, as torchvision's."""

import math
import pathlib

import numpy as np

from ember._ops.creation import from_numpy
from ember._tensor import Tensor


def _as_batch(tensor):
    """A tensor or list of tensors as a ``(B, C, H, W)`` array; grey images become RGB."""
    if isinstance(tensor, list) and tensor and all(isinstance(t, Tensor) for t in tensor):
        shapes = {tuple(t.shape) for t in tensor}
        if len(shapes) > 1:
            raise RuntimeError(
                f"make_grid: all images must have the same shape, got {sorted(shapes)}"
            )
        a = np.stack([t.detach().cpu().numpy() for t in tensor])
    elif isinstance(tensor, Tensor):
        a = tensor.detach().cpu().numpy()
    else:
        raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
    if a.ndim == 2:  # one H x W image
        a = a[None]
    if a.ndim == 3:  # one C x H x W image
        a = (np.concatenate([a] * 3) if a.shape[0] == 1 else a)[None]
    if a.ndim != 4:
        raise ValueError(f"make_grid: expected 2, 3 or 4 dimensions, got shape {tuple(a.shape)}")
    if a.shape[1] == 1:
        a = np.concatenate([a] * 3, axis=1)
    return a


def _normalize(a, low, high):
    """Clamp to [low, high] and map that range onto [0, 1]."""
    dtype = a.dtype.type
    a = np.clip(a, dtype(low), dtype(high))
    return (a - dtype(low)) / dtype(max(high - low, 1e-5))


def make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False,
              pad_value=0.0):  # fmt: skip
    """Arrange a ``(B, C, H, W)`` batch (or a list of ``(C, H, W)`` images) in a grid of
    ``nrow`` images per row, ``padding`` pixels of ``pad_value`` around each.

    With ``normalize`` the values are mapped from ``value_range`` (default: the batch's minimum
    and maximum, or each image's with ``scale_each``) onto [0, 1]. One-channel images are
    repeated to three channels; a single image is returned as ``(3, H, W)`` without padding.
    """
    a = _as_batch(tensor)
    device = tensor[0].device if isinstance(tensor, list) else tensor.device
    if normalize:
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError(
                "value_range has to be a tuple (min, max) if specified. min and max are numbers"
            )
        if not np.issubdtype(a.dtype, np.floating):
            raise RuntimeError(f"make_grid: normalize needs floating-point images, got {a.dtype}")
        parts = list(a) if scale_each else [a]
        scaled = []
        for part in parts:
            low, high = value_range if value_range is not None else (part.min(), part.max())
            scaled.append(_normalize(part, float(low), float(high)))
        a = np.stack(scaled) if scale_each else scaled[0]
    if a.shape[0] == 1:
        grid = a[0]
    else:
        n, channels, h, w = a.shape
        cols = min(nrow, n)
        rows = math.ceil(n / cols)
        cell_h, cell_w = h + padding, w + padding
        grid = np.full((channels, rows * cell_h + padding, cols * cell_w + padding), pad_value,
                       dtype=a.dtype)  # fmt: skip
        for k in range(n):
            top, left = (k // cols) * cell_h + padding, (k % cols) * cell_w + padding
            grid[:, top : top + h, left : left + w] = a[k]
    out = from_numpy(np.ascontiguousarray(grid))
    return out if str(device) == "cpu" else out.to(device)


def to_uint8_hwc(grid):
    """A ``(C, H, W)`` float image in [0, 1] as an ``(H, W, C)`` uint8 array: ``x * 255 + 0.5``
    clamped to [0, 255] and truncated, as torchvision's ``save_image`` rounds."""
    a = grid.detach().cpu().numpy()
    a = np.clip(a * a.dtype.type(255) + a.dtype.type(0.5), 0, 255)
    return np.ascontiguousarray(a.transpose(1, 2, 0)).astype(np.uint8)


def save_image(tensor, fp, format=None, **kwargs):
    """Save ``tensor`` (an image or a batch, arranged by ``make_grid(tensor, **kwargs)``) as an
    image file through Pillow; the format comes from ``format`` or the file name."""
    try:
        from PIL import Image
    except ImportError as e:
        raise ImportError("save_image needs Pillow: pip install pillow") from e
    grid = make_grid(tensor, **kwargs)
    array = to_uint8_hwc(grid)
    if array.shape[2] == 1:
        array = array[:, :, 0]
    if isinstance(fp, pathlib.PurePath):
        fp = str(fp)
    Image.fromarray(array).save(fp, format=format)
