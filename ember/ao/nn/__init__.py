"""Quantized layers (``torch.ao.nn``)."""

from ember.ao.nn import quantized

__all__ = ["quantized"]
