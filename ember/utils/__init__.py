"""ember.utils: data loading and helpers."""

from ember.utils import checkpoint, data, hooks

__all__ = ["checkpoint", "data", "hooks"]
