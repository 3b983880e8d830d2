"""Dynamically quantized layers (``torch.ao.nn.quantized.dynamic``)."""

from ember.ao.nn.quantized.dynamic.linear import Linear

__all__ = ["Linear"]
