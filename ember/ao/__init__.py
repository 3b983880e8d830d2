"""``ember.ao`` (torch.ao): quantization.

Its subpackages are imported on first use; ``import ember`` imports only
``ember.ao.quantization`` (small), which makes quantized tensors loadable from checkpoints.
"""

import importlib

__all__ = ["nn", "quantization"]


def __getattr__(name):
    if name in __all__:
        return importlib.import_module(f"ember.ao.{name}")
    raise AttributeError(f"module 'ember.ao' has no attribute '{name}'")
