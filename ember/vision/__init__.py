"""``ember.vision``: image data sets, transforms, models and image utilities with
torchvision's interface."""

from ember.vision import datasets, io, models, ops, transforms, utils

__version__ = "0.28.0+ember.0.1.0"  # the torchvision release matching PyTorch 2.13

__all__ = ["datasets", "io", "models", "ops", "transforms", "utils"]
