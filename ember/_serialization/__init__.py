"""The machinery behind ``ember.save`` and ``ember.load``: PyTorch's zip format (pickler, zip
writer, reader, the weights_only and trusted unpicklers, tensor rebuilding), the safetensors
layout and ember's earlier format, safe globals, and atomic writes."""
