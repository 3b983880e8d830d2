"""``torchvision.transforms.v2.functional``: the v1 functional ops, plus the v2 conversions
between images, dtypes and colour layouts."""
# ruff: noqa: F401  (re-exported names)

import numpy as np

from ember._dtype import float32
from ember._tensor import Tensor, wrap
from ember.vision.transforms.functional import (
    InterpolationMode,
    adjust_brightness,
    adjust_contrast,
    adjust_hue,
    adjust_saturation,
    affine,
    center_crop,
    convert_image_dtype,
    crop,
    erase,
    get_dimensions,
    get_image_size,
    hflip,
    normalize,
    pad,
    pil_to_tensor,
    resize,
    resized_crop,
    rgb_to_grayscale,
    rotate,
    to_pil_image,
    to_tensor,
    vflip,
)


def to_image(inpt):
    """A PIL image, ``H x W (x C)`` array or tensor as a ``C x H x W`` tensor of its own dtype."""
    if isinstance(inpt, Tensor):
        return inpt
    if isinstance(inpt, np.ndarray):
        a = inpt[:, :, None] if inpt.ndim == 2 else inpt
        if a.ndim != 3:
            raise ValueError(f"to_image: expected an array of 2 or 3 dimensions, got {inpt.shape}")
        return wrap(np.ascontiguousarray(a.transpose(2, 0, 1)))
    return pil_to_tensor(inpt)


def to_dtype_image(image, dtype=None, scale=False):
    """``image`` as ``dtype`` (float32 by default); with ``scale``, values are rescaled between
    the integer range [0, max] and the float range [0, 1]."""
    dtype = float32 if dtype is None else dtype
    return convert_image_dtype(image, dtype) if scale else image.to(dtype)


def to_dtype(inpt, dtype=None, scale=False):
    return to_dtype_image(inpt, dtype, scale)


def grayscale_to_rgb(image):
    """A one-channel image repeated to three channels (three-channel images pass through)."""
    if image.shape[-3] == 3:
        return image
    if image.shape[-3] != 1:
        raise ValueError(
            f"grayscale_to_rgb: expected 1 or 3 channels, got shape {tuple(image.shape)}"
        )
    return image.expand(*image.shape[:-3], 3, *image.shape[-2:]).clone()
