"""ember.backends: the array backends behind the ops, and the flags scripts set.

`registry` is the seam between ops and array libraries; `numpy` and `onednn` hold the
kernels (importing them registers them). `cuda`, `cudnn`, `mps` and `openmp` are PyTorch's
flag modules (cudnn.benchmark, ...), kept so those lines run.
"""

from ember.backends import cuda, cudnn, mps, numpy, onednn, openmp, registry

__all__ = ["cuda", "cudnn", "mps", "numpy", "onednn", "openmp", "registry"]
