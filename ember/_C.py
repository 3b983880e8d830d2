"""``torch._C``: the few names of PyTorch's C extension that libraries call directly.

ember has no C extension and no JIT; usage logging does nothing, the JIT fuser switches are
accepted and change nothing (as with the JIT off), and tracing state is never set.
"""


def _log_api_usage_once(event):
    """PyTorch records API usage for telemetry; ember records nothing."""


def _get_tracing_state():
    return None


def _jit_set_profiling_executor(enabled):
    return False


def _jit_set_profiling_mode(enabled):
    return False


def _jit_override_can_fuse_on_cpu(enabled):
    pass


def _jit_override_can_fuse_on_gpu(enabled):
    pass


def _jit_set_texpr_fuser_enabled(enabled):
    pass


def _jit_set_nvfuser_enabled(enabled):
    return False


def _get_cudnn_enabled():
    return False


# The metaclass of ``Tensor``: ember's Tensor is an ordinary Python class.
_TensorMeta = type


def _parse_to(*args, device=None, dtype=None, non_blocking=False, copy=False,
              memory_format=None):  # fmt: skip
    """``(device, dtype, non_blocking, memory_format)`` of a ``.to(...)`` call's arguments, as
    ``Module.to`` reads them: ``to(device, dtype)``, ``to(dtype)`` or ``to(tensor)``."""
    from ember import _dtype
    from ember._device import device as device_type
    from ember._tensor import Tensor

    rest = list(args)
    if rest and isinstance(rest[0], Tensor):
        tensor = rest.pop(0)
        device, dtype = tensor.device, tensor.dtype
    elif rest and isinstance(rest[0], _dtype.dtype):
        dtype = rest.pop(0)
    else:
        if rest and (rest[0] is None or isinstance(rest[0], (str, int, device_type))):
            device = rest.pop(0)
        if rest and (rest[0] is None or isinstance(rest[0], _dtype.dtype)):
            dtype = rest.pop(0)
    if rest and isinstance(rest[0], bool):
        non_blocking = rest.pop(0)
    if rest and isinstance(rest[0], bool):
        rest.pop(0)  # copy: a module is converted in place either way
    if rest or (dtype is not None and not isinstance(dtype, _dtype.dtype)):
        got = ", ".join(type(a).__name__ for a in args)
        raise TypeError(
            f"to() received an invalid combination of arguments - got ({got}), but expected "
            "(device, dtype, non_blocking, copy), (dtype, non_blocking, copy) or "
            "(tensor, non_blocking, copy)"
        )
    if device is not None and not isinstance(device, device_type):
        device = device_type(device)
    return device, dtype, non_blocking, memory_format


class _nn:
    """``torch._C._nn``: the argument parser ``Module.to`` is built on."""

    _parse_to = staticmethod(_parse_to)
