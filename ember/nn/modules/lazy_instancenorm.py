"""Instance normalization layers that take num_features from their first input."""

from ember.nn.modules.normalization import (
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
    _LazyBatchNorm,
)

__all__ = ["LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d"]


class LazyInstanceNorm1d(_LazyBatchNorm, InstanceNorm1d):
    """InstanceNorm1d with num_features from ``input.shape[1]`` (as PyTorch: affine and
    tracking the running statistics by default)."""

    cls_to_become = InstanceNorm1d


class LazyInstanceNorm2d(_LazyBatchNorm, InstanceNorm2d):
    """InstanceNorm2d with num_features from ``input.shape[1]``."""

    cls_to_become = InstanceNorm2d


class LazyInstanceNorm3d(_LazyBatchNorm, InstanceNorm3d):
    """InstanceNorm3d with num_features from ``input.shape[1]``."""

    cls_to_become = InstanceNorm3d
