"""``ember.vision.ops`` (torchvision.ops): box operations, non-maximum suppression, RoI
pooling and the building blocks of torchvision's models."""

from ember.vision.ops import boxes, misc, roi
from ember.vision.ops.boxes import *  # noqa: F403
from ember.vision.ops.misc import *  # noqa: F403
from ember.vision.ops.roi import *  # noqa: F403

__all__ = boxes.__all__ + misc.__all__ + roi.__all__
