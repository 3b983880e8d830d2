"""``VisionDataset``: the shared constructor, ``__repr__`` and image conversion."""

import os

import numpy as np

from ember.utils.data import Dataset


def pil_or_none():
    try:
        from PIL import Image
    except ImportError:
        return None
    return Image


def to_image(array):
    """An ``H x W`` or ``H x W x C`` uint8 array as a PIL image when Pillow is installed (as
    torchvision's data sets return), else the array itself; the transforms accept both."""
    Image = pil_or_none()
    return array if Image is None else Image.fromarray(np.ascontiguousarray(array))


class VisionDataset(Dataset):
    """Base of the image data sets: ``root``, ``transform``, ``target_transform``. A
    ``Dataset``, so it works with ``DataLoader``, ``Subset``, ``ConcatDataset`` and ``+``."""

    def __init__(self, root=None, transform=None, target_transform=None):
        self.root = os.path.expanduser(os.fspath(root)) if root is not None else None
        self.transform = transform
        self.target_transform = target_transform

    def _apply(self, image, target):
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = [f"Number of datapoints: {len(self)}"]
        if self.root is not None:
            lines.append(f"Root location: {self.root}")
        lines += [line for line in self.extra_repr().splitlines() if line]
        if self.transform is not None:
            lines.append(f"Transform: {self.transform!r}")
        if self.target_transform is not None:
            lines.append(f"Target transform: {self.target_transform!r}")
        return f"Dataset {type(self).__name__}\n" + "\n".join("    " + s for s in lines)
