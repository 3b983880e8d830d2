"""``ember.ao`` (torch.ao): quantization."""

from ember.ao import nn, quantization

__all__ = ["nn", "quantization"]
