"""ember.backends: the flags scripts set (cudnn.benchmark, ...); kept so those lines run."""

from ember.backends import cudnn, mps, openmp

__all__ = ["cudnn", "mps", "openmp"]
