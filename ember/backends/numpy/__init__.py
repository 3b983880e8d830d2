"""NumPy kernels: the CPU implementation of every kernel, and the fallback when another declines.

Each module registers its kernels with `ember.backends.registry.register(name, "numpy")`.
"""

from ember.backends.numpy import (  # noqa: F401
    conv,
    conv3d,
    conv_weight_bound,
    int8_matmul,
    loss,
    normalization,
    pool,
)
