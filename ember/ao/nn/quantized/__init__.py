"""Quantized layers (``torch.ao.nn.quantized``); ember provides the dynamic ones."""

from ember.ao.nn.quantized import dynamic

__all__ = ["dynamic"]
