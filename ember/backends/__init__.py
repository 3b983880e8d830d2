"""ember.backends: the flags scripts set (cudnn.benchmark, ...); kept so those lines run."""

from ember.backends import cuda, cudnn, mps, openmp

__all__ = ["cuda", "cudnn", "mps", "openmp"]
