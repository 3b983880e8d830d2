"""ember.accelerator: PyTorch's device-agnostic accelerator queries, answered for a CPU-only ember.

Programs such as pytorch/examples' imagenet ask ``torch.accelerator.is_available()`` to choose a
device; ember has no accelerator backend yet, so the queries report none and the calls that
need a device raise RuntimeError as PyTorch does on a machine without one.
"""

__all__ = [
    "is_available", "device_count", "current_accelerator", "current_device_index",
    "current_device_idx", "set_device_index", "set_device_idx", "device_index", "synchronize",
    "current_stream", "set_stream", "empty_cache", "memory_allocated", "max_memory_allocated",
    "memory_reserved", "max_memory_reserved", "memory_stats", "reset_peak_memory_stats",
    "reset_accumulated_memory_stats", "get_device_capability", "get_memory_info",
]  # fmt: skip


def is_available():
    return False


def device_count():
    return 0


def current_accelerator(check_available=False):
    """The accelerator's device type, or None: ember has none."""
    return None


def _needs_device(op):
    def refuse(*args, **kwargs):
        raise RuntimeError(
            f"torch.accelerator.{op}: Cannot access accelerator device when none is available "
            "(ember has no accelerator backend yet)."
        )

    refuse.__name__ = op
    return refuse


current_device_index = _needs_device("current_device_index")
current_device_idx = _needs_device("current_device_idx")
set_device_index = _needs_device("set_device_index")
set_device_idx = _needs_device("set_device_idx")
synchronize = _needs_device("synchronize")
current_stream = _needs_device("current_stream")
set_stream = _needs_device("set_stream")
empty_cache = _needs_device("empty_cache")
memory_allocated = _needs_device("memory_allocated")
max_memory_allocated = _needs_device("max_memory_allocated")
memory_reserved = _needs_device("memory_reserved")
max_memory_reserved = _needs_device("max_memory_reserved")
memory_stats = _needs_device("memory_stats")
reset_peak_memory_stats = _needs_device("reset_peak_memory_stats")
reset_accumulated_memory_stats = _needs_device("reset_accumulated_memory_stats")
get_device_capability = _needs_device("get_device_capability")
get_memory_info = _needs_device("get_memory_info")


class device_index:
    """Context manager that selects an accelerator index; ``None`` selects nothing."""

    def __init__(self, device, /):
        if device is not None:
            _needs_device("device_index")()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
