"""ember.utils.hooks: the handle every ``register_*hook`` returns (``torch.utils.hooks``)."""

from ember._tensor import RemovableHandle

__all__ = ["RemovableHandle"]
