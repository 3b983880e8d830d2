"""``ember.vision``: image data sets, transforms, models and image utilities with
torchvision's interface."""

from ember.vision import datasets, io, models, ops, transforms, utils

__all__ = ["datasets", "io", "models", "ops", "transforms", "utils"]
