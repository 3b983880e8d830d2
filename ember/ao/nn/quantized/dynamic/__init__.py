"""Dynamically quantized layers (``torch.ao.nn.quantized.dynamic``)."""

from ember.ao.nn.quantized.dynamic.linear import Linear
from ember.ao.nn.quantized.dynamic.rnn import GRU, LSTM

__all__ = ["Linear", "LSTM", "GRU"]
