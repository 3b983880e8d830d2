"""Helpers behind ``ember.save`` and ``ember.load``: file layout, structure encoding, memory
grouping of tensors into storages, the PyTorch zip reader and its restricted unpickler."""
