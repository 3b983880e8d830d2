"""``ember.vision.transforms.v2`` (torchvision.transforms.v2): transforms over whole samples.

See `_base` for how a sample's leaves are chosen; `tv_tensors` for the typed tensors that let
masks and boxes move with their image.
"""

from ember.vision.transforms import functional
from ember.vision.transforms.v2._transforms import *  # noqa: F403
from ember.vision.transforms.v2._transforms import __all__ as _names

__all__ = [*_names, "functional"]
