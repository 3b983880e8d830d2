"""Mixed precision: autocast and GradScaler.

On the CPU, ``autocast`` is accepted and runs the block in the tensors' own dtypes (a
documented no-op that warns once when asked for float16 or bfloat16). ``GradScaler`` scales
the loss when enabled and is an identity when disabled, with PyTorch's method names.
"""

import functools
import warnings

from ember.amp.grad_scaler import GradScaler

__all__ = ["autocast", "GradScaler", "is_autocast_available"]

_warned = [False]


def is_autocast_available(device_type):
    return device_type in ("cpu", "cuda")


class autocast:
    """Accepts PyTorch's arguments; computation keeps the tensors' dtypes (see module doc)."""

    def __init__(self, device_type="cuda", dtype=None, enabled=True, cache_enabled=None):
        self.device_type = device_type
        self.enabled = enabled
        if enabled and not _warned[0]:
            warnings.warn(
                "ember's autocast runs the block in the tensors' own dtypes (no automatic "
                "mixed precision yet)",
                stacklevel=2,
            )
            _warned[0] = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)

        return wrapper
