"""ember.utils: data loading and helpers."""

from ember.utils import data, hooks

__all__ = ["data", "hooks"]
