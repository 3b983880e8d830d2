"""NumPy kernels: the CPU implementation of every kernel, and the fallback when another declines.

Each module registers its kernels with `ember.backends.registry.register(name, "numpy")`.
"""

from ember.backends.numpy import conv, conv3d, int8_matmul, loss, normalization, pool  # noqa: F401
