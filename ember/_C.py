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
