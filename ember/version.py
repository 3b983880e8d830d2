"""ember.version: the build facts torch.version gives, for ember.

``__version__`` is the PyTorch release ember follows with ember's own release as the local part.
ember is not built against CUDA or ROCm (its GPU path goes through CuPy), so ``cuda``, ``hip``,
``rocm`` and ``xpu`` are None, as in a CPU build of PyTorch.
"""

from ember import __version__

__all__ = ["__version__", "cuda", "debug", "git_version", "hip", "rocm", "xpu"]

cuda = None
hip = None
rocm = None
xpu = None
debug = False
git_version = "unknown"  # no build step of ember records the commit it was built from
