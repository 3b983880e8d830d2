"""nn.DataParallel with PyTorch's interface.

ember runs on one device per process, so DataParallel runs the wrapped module directly, as
PyTorch does when only one device is available; its state_dict keys carry the ``module.``
prefix like PyTorch's. Several processes train together through ember.distributed.
"""

from ember.nn.modules.module import Module


class DataParallel(Module):
    def __init__(self, module, device_ids=None, output_device=None, dim=0):
        super().__init__()
        self.module = module
        self.device_ids = list(device_ids) if device_ids is not None else []
        self.output_device = output_device
        self.dim = dim

    def forward(self, *inputs, **kwargs):
        return self.module(*inputs, **kwargs)
