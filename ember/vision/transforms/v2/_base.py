"""The v2 transform protocol: samples of any structure, random parameters drawn once per call.

A sample can be one image or any nesting of tuples, lists and dicts (an image with its label,
a dict with an image, a mask and boxes). A transform draws its random parameters once and
applies them to every leaf it knows how to move: PIL images and `tv_tensors` (Image, Video,
Mask, BoundingBoxes). A plain tensor counts as the image when the sample holds no PIL image,
Image or Video, and only the first one does; labels and other leaves pass through unchanged.
"""

import numpy as np

from ember._tensor import Tensor
from ember.nn.modules.module import Module
from ember.vision import tv_tensors
from ember.vision.transforms import functional as F


def _flatten(sample):
    """(leaves, rebuild) for nested tuples, lists and dicts."""
    if isinstance(sample, tuple | list):
        parts = [_flatten(x) for x in sample]
        leaves = [leaf for p in parts for leaf in p[0]]
        kind = type(sample)

        def rebuild(values):
            out, start = [], 0
            for p_leaves, p_rebuild in parts:
                out.append(p_rebuild(values[start : start + len(p_leaves)]))
                start += len(p_leaves)
            return kind(out) if kind in (tuple, list) else kind(*out)

        return leaves, rebuild
    if isinstance(sample, dict):
        keys = list(sample)
        parts = [_flatten(sample[k]) for k in keys]
        leaves = [leaf for p in parts for leaf in p[0]]
        kind = type(sample)

        def rebuild(values):
            out, start = {}, 0
            for k, (p_leaves, p_rebuild) in zip(keys, parts):
                out[k] = p_rebuild(values[start : start + len(p_leaves)])
                start += len(p_leaves)
            return kind(out)

        return leaves, rebuild
    return [sample], lambda values: values[0]


def is_pure_tensor(x):
    return isinstance(x, Tensor) and not isinstance(x, tv_tensors.TVTensor)


def _image_like(x):
    return F._is_pil(x) or isinstance(x, tv_tensors.Image | tv_tensors.Video)


def needs_transform_flags(leaves):
    """Which leaves a transform touches: the heuristic for plain tensors described above."""
    has_image = any(_image_like(x) for x in leaves)
    flags, seen_pure = [], False
    for x in leaves:
        if is_pure_tensor(x) and not has_image and not seen_pure:
            flags.append(True)
            seen_pure = True
        else:
            flags.append(_image_like(x) or isinstance(x, tv_tensors.TVTensor))
    return flags


def query_size(leaves):
    """(height, width) of the sample's images, masks or boxes; they must agree."""
    sizes = set()
    for x in leaves:
        if isinstance(x, tv_tensors.BoundingBoxes):
            sizes.add(x.canvas_size)
        elif F._is_pil(x) or isinstance(x, Tensor | np.ndarray):
            _, h, w = F.get_dimensions(x)
            sizes.add((h, w))
    if not sizes:
        raise TypeError("No image, video, mask or bounding box was found in the sample")
    if len(sizes) > 1:
        raise ValueError(f"Found multiple HxW dimensions in the sample: {sorted(sizes)}")
    return sizes.pop()


class Transform(Module):
    """Base of v2 transforms: ``make_params`` once per call, then ``transform`` per leaf."""

    def make_params(self, flat_inputs):
        return {}

    def transform(self, inpt, params):
        raise NotImplementedError(f"{type(self).__name__} does not transform {type(inpt).__name__}")

    def forward(self, *inputs):
        sample = inputs if len(inputs) > 1 else inputs[0]
        leaves, rebuild = _flatten(sample)
        flags = needs_transform_flags(leaves)
        chosen = [x for x, f in zip(leaves, flags) if f]
        params = self.make_params(chosen)
        out = [self.transform(x, params) if f else x for x, f in zip(leaves, flags)]
        return rebuild(out)

    def extra_repr(self):
        names = getattr(self, "_repr", ())
        return ", ".join(f"{k}={getattr(self, k)!r}" for k in names)
