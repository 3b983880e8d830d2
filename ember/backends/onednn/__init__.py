"""oneDNN kernels (float32 and int8, CPU), through ctypes; they decline what oneDNN cannot run.

Each module registers its kernels with `ember.backends.registry.register(name, "onednn", ...)`.
"""

from ember.backends.onednn import batch_norm, conv, int8_matmul, pool  # noqa: F401
