"""oneDNN kernels (float32, CPU), reached through ctypes; they decline what oneDNN cannot run.

Each module registers its kernels with `ember.backends.registry.register(name, "onednn", ...)`.
"""
