"""ember.utils: data loading and helpers."""

from ember.utils import _pytree as _pytree  # imported by libraries as torch.utils._pytree
from ember.utils import checkpoint, data, hooks

__all__ = ["checkpoint", "data", "hooks"]
