"""ember.cuda: what PyTorch's CPU-only build answers, since ember has no GPU backend yet.

Queries report no device (``is_available()`` is False, ``device_count()`` is 0) so programs
choose the CPU; calls that need a GPU raise AssertionError as PyTorch's CPU build does; seeding
and memory statistics are harmless no-ops.
"""

from ember._legacy_tensor_types import make_types

(
    FloatTensor, DoubleTensor, HalfTensor, BFloat16Tensor, LongTensor, IntTensor, ShortTensor,
    CharTensor, ByteTensor, BoolTensor,
) = make_types("ember.cuda", is_cuda=True)  # fmt: skip

__all__ = [
    "is_available", "device_count", "is_initialized", "init", "current_device", "set_device",
    "get_device_name", "get_device_capability", "get_device_properties", "empty_cache",
    "synchronize", "manual_seed", "manual_seed_all", "seed", "seed_all", "get_rng_state",
    "set_rng_state", "get_rng_state_all", "set_rng_state_all", "memory_allocated",
    "max_memory_allocated", "memory_reserved", "max_memory_reserved", "reset_peak_memory_stats",
    "is_bf16_supported", "amp", "device", "FloatTensor", "DoubleTensor", "HalfTensor",
    "BFloat16Tensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor", "ByteTensor",
    "BoolTensor", "Stream", "ExternalStream", "Event", "CUDAGraph", "StreamContext", "stream",
    "graph", "current_stream", "default_stream",
]  # fmt: skip


def _no_gpu(op):
    return AssertionError(
        f"ember.cuda.{op}: ember has no GPU backend yet (ember.cuda.is_available() is False)"
    )


def is_available():
    return False


def device_count():
    return 0


def is_initialized():
    return False


def init():
    raise _no_gpu("init")


def current_device():
    raise _no_gpu("current_device")


def set_device(device):
    raise _no_gpu("set_device")


def get_device_name(device=None):
    raise _no_gpu("get_device_name")


def get_device_capability(device=None):
    raise _no_gpu("get_device_capability")


def get_device_properties(device=None):
    raise _no_gpu("get_device_properties")


def synchronize(device=None):
    raise _no_gpu("synchronize")


def empty_cache():
    """Nothing is cached without a GPU."""


def manual_seed(seed):
    """Seeding a GPU that is not there is silently ignored, as in PyTorch."""


manual_seed_all = manual_seed


def seed():
    """Ignored without a GPU, as in PyTorch."""


seed_all = seed


def get_rng_state(device="cuda"):
    raise _no_gpu("get_rng_state")


def set_rng_state(new_state, device="cuda"):
    raise _no_gpu("set_rng_state")


def get_rng_state_all():
    """One state per GPU: none."""
    return []


def set_rng_state_all(new_states):
    """Sets each GPU's state from the list: an empty list (one state per GPU) changes nothing."""
    for i, state in enumerate(new_states):
        set_rng_state(state, i)


def memory_allocated(device=None):
    return 0


max_memory_allocated = memory_reserved = max_memory_reserved = memory_allocated


def reset_peak_memory_stats(device=None):
    """There are no peaks to reset without a GPU."""


def is_bf16_supported(including_emulation=True):
    return False


class device:
    """Context manager selecting a CUDA device; entering it needs a GPU."""

    def __init__(self, device):
        self.idx = device

    def __enter__(self):
        raise _no_gpu("device")

    def __exit__(self, *exc):
        return False


from ember.cuda import amp  # noqa: E402
from ember.cuda.streams import (  # noqa: E402
    CUDAGraph,
    Event,
    ExternalStream,
    Stream,
    StreamContext,
    current_stream,
    default_stream,
    graph,
    stream,
)
