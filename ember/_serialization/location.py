"""``map_location``: where each loaded storage goes, as in ``torch.load``.

A storage is a 1-D uint8 array of raw bytes; its saved location is a device string such as
``'cpu'`` or ``'cuda:0'``. ``map_location`` may be None (back where it was saved), a device or
device string (everything there), a dict from saved to new location strings, or a callable
``f(storage, location)`` that returns the storage as a tensor moved where it should go, or None
for the default. (PyTorch passes an untyped storage; ember passes a uint8 tensor of its bytes.)
"""

import numpy as np

from ember._device import device
from ember._serialization.errors import CheckpointError
from ember._tensor import Tensor, wrap

__all__ = ["place"]


def place(storage, location, map_location, what):
    """``storage`` (a NumPy uint8 array) moved to the device ``map_location`` chooses for it."""
    saved = _device(location, what)
    if map_location is None:
        target = saved
    elif isinstance(map_location, str | device):
        target = device(map_location)
    elif isinstance(map_location, dict):
        target = device(map_location.get(location, map_location.get(saved, location)))
    elif callable(map_location):
        moved = map_location(wrap(storage), location)
        if moved is None:
            target = saved
        elif (
            isinstance(moved, Tensor)
            and moved.dtype.np == np.uint8
            and moved.shape == storage.shape
        ):
            return moved._data
        else:
            raise TypeError(
                "ember.load: map_location(storage, location) must return the storage (a 1-D "
                f"uint8 tensor of {storage.size} bytes, moved or not) or None, got {moved!r:.80}"
            )
    else:
        raise TypeError(
            "ember.load: map_location must be None, a device, a str, a dict or a callable, "
            f"got {type(map_location).__name__}"
        )
    return _to(storage, target, location)


def _device(location, what):
    try:
        return device(location)
    except (RuntimeError, TypeError, ValueError):
        raise CheckpointError(f"{what}: invalid saved device {location!r}") from None


def _to(storage, target, location):
    if target.type == "cpu":
        return storage
    raise RuntimeError(  # ember computes on the CPU only (see ember._device.resolve_device)
        f"ember.load: the checkpoint holds tensors on '{location}', which is not available "
        f"here ({target}); pass map_location='cpu' to load them on the CPU"
    )
