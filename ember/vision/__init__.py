"""``ember.vision``: image data sets, transforms, models and image utilities with
torchvision's interface."""

from ember.vision import datasets, models, transforms, utils

__all__ = ["datasets", "models", "transforms", "utils"]
