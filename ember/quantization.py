"""``torch.quantization``: the older path of ``torch.ao.quantization``."""

from ember.ao.quantization import *  # noqa: F403
from ember.ao.quantization import __all__  # noqa: F401
