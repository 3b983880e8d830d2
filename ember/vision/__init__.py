"""``ember.vision``: image data sets, transforms and models with torchvision's interface."""

from ember.vision import datasets, models, transforms

__all__ = ["datasets", "models", "transforms"]
