"""Typed tensors for ``transforms.v2``: what each tensor in a sample is, so that one random
crop or flip moves an image, its segmentation mask and its boxes together.

`Image` and `Mask` are (..., H, W) tensors; `BoundingBoxes` is an (N, 4) tensor with its
``format`` and the ``canvas_size`` (height, width) of the image it belongs to. Operations on
them return plain tensors, as torchvision's do; the v2 transforms re-wrap their outputs.
"""

import enum

import numpy as np

from ember._dtype import from_np
from ember._tensor import Tensor

__all__ = ["TVTensor", "Image", "Mask", "Video", "BoundingBoxes", "BoundingBoxFormat", "wrap"]


def _as_array(data, dtype=None):
    if isinstance(data, Tensor):
        data = data.detach().numpy()
    elif type(data).__module__.startswith("PIL"):
        data = np.asarray(data)
        data = data[None] if data.ndim == 2 else data.transpose(2, 0, 1)
    a = np.asarray(data)
    return a if dtype is None else a.astype(np.dtype(getattr(dtype, "np", dtype)))


class TVTensor(Tensor):
    """A tensor that says what it holds."""

    def __init__(self, data, *, dtype=None, device=None, requires_grad=False):
        a = np.ascontiguousarray(_as_array(data, dtype))
        super().__init__(a, dtype=from_np(a.dtype))
        if requires_grad:
            self.requires_grad_(True)


class Image(TVTensor):
    def __init__(self, data, *, dtype=None, device=None, requires_grad=False):
        a = _as_array(data, dtype)
        super().__init__(a[None] if a.ndim == 2 else a, requires_grad=requires_grad)


class Video(TVTensor):
    pass


class Mask(TVTensor):
    pass


class BoundingBoxFormat(enum.Enum):
    XYXY = "XYXY"
    XYWH = "XYWH"
    CXCYWH = "CXCYWH"


class BoundingBoxes(TVTensor):
    def __init__(self, data, *, format, canvas_size, dtype=None, device=None, requires_grad=False):
        a = _as_array(data, dtype)
        if a.ndim == 1:
            a = a[None]
        if a.ndim != 2 or a.shape[-1] != 4:
            raise ValueError(f"BoundingBoxes: expected an (N, 4) tensor, got shape {a.shape}")
        super().__init__(a, requires_grad=requires_grad)
        if isinstance(format, str):
            format = BoundingBoxFormat[format.upper()]
        self.format = format
        self.canvas_size = tuple(int(s) for s in canvas_size)

    def __repr__(self):
        return (
            f"BoundingBoxes({super().__repr__()}, format={self.format}, "
            f"canvas_size={self.canvas_size})"
        )


def wrap_like(like, data):
    """``data`` (a tensor or array) as a tv_tensor of ``like``'s kind and metadata."""
    a = data.detach().numpy() if isinstance(data, Tensor) else np.asarray(data)
    if isinstance(like, BoundingBoxes):
        return BoundingBoxes(a, format=like.format, canvas_size=like.canvas_size)
    return type(like)(a)


def wrap(data, *, like, **kwargs):
    """torchvision's ``tv_tensors.wrap``: ``data`` as the kind of ``like``, metadata overridable."""
    if isinstance(like, BoundingBoxes):
        return BoundingBoxes(
            data,
            format=kwargs.get("format", like.format),
            canvas_size=kwargs.get("canvas_size", like.canvas_size),
        )
    return type(like)(data)
