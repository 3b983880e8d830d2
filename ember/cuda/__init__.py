"""ember.cuda: device queries and seeding; CUDA tensors live in CuPy arrays when CuPy is present."""

from ember._device import cupy_or_none

__all__ = [
    "is_available", "device_count", "current_device", "set_device", "get_device_name",
    "empty_cache", "synchronize", "manual_seed", "manual_seed_all", "memory_allocated",
    "max_memory_allocated", "memory_reserved", "reset_peak_memory_stats", "is_bf16_supported",
    "amp", "device",
]  # fmt: skip


def is_available():
    return cupy_or_none() is not None


def device_count():
    cp = cupy_or_none()
    return 0 if cp is None else cp.cuda.runtime.getDeviceCount()


def _require(op):
    cp = cupy_or_none()
    if cp is None:
        raise RuntimeError(f"ember.cuda.{op}: Found no NVIDIA driver or CuPy on this machine.")
    return cp


def current_device():
    return _require("current_device").cuda.Device().id


def set_device(device):
    from ember._device import to_device

    _require("set_device").cuda.Device(to_device(device).index or 0).use()


def get_device_name(device=None):
    cp = _require("get_device_name")
    return cp.cuda.runtime.getDeviceProperties(0 if device is None else int(device))["name"]


def empty_cache():
    cp = cupy_or_none()
    if cp is not None:
        cp.get_default_memory_pool().free_all_blocks()


def synchronize(device=None):
    cp = cupy_or_none()
    if cp is not None:
        cp.cuda.Device().synchronize()


def manual_seed(seed):
    cp = cupy_or_none()
    if cp is not None:
        cp.random.seed(seed)


manual_seed_all = manual_seed


def memory_allocated(device=None):
    cp = cupy_or_none()
    return 0 if cp is None else cp.get_default_memory_pool().used_bytes()


def max_memory_allocated(device=None):
    return memory_allocated(device)


def memory_reserved(device=None):
    cp = cupy_or_none()
    return 0 if cp is None else cp.get_default_memory_pool().total_bytes()


def reset_peak_memory_stats(device=None):
    pass


def is_bf16_supported():
    return is_available()


class device:
    """Context manager selecting a CUDA device (a no-op without one)."""

    def __init__(self, device):
        self.idx = device

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


from ember.cuda import amp  # noqa: E402
