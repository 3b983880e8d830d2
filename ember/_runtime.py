"""Process-wide switches scripts call before building a model: threads, determinism, matmul
precision."""

import os

__all__ = [
    "set_num_threads", "get_num_threads", "set_num_interop_threads", "get_num_interop_threads",
    "use_deterministic_algorithms", "are_deterministic_algorithms_enabled",
    "set_float32_matmul_precision", "get_float32_matmul_precision",
]  # fmt: skip


def _threads_at_start():
    """OMP_NUM_THREADS when it is a positive integer (PyTorch takes its thread count from it),
    else the number of cores."""
    value = os.environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else os.cpu_count() or 1


_state = {"threads": _threads_at_start(), "deterministic": False, "matmul": "highest"}


def set_num_threads(n):
    """The threads ember's kernels use: the split of large elementwise ops and reductions
    (ember/backends/numpy/threads.py) and oneDNN's kernels, matrix products included. Where
    oneDNN is missing, NumPy's BLAS computes the products on ``n`` threads (through
    threadpoolctl when it is installed); else the BLAS stays on the calling thread."""
    if int(n) < 1:
        raise RuntimeError(f"set_num_threads expects a positive integer, got {n}")
    _state["threads"] = int(n)
    from ember.backends.onednn import library as onednn

    onednn.set_num_threads(n)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1 if onednn.available() else int(n), user_api="blas")
    except ImportError:
        pass


def get_num_threads():
    return _state["threads"]


def set_num_interop_threads(n):
    pass


def get_num_interop_threads():
    return 1


def use_deterministic_algorithms(mode, *, warn_only=False):
    """ember's CPU kernels are deterministic; the flag is kept for scripts that read it."""
    _state["deterministic"] = bool(mode)


def are_deterministic_algorithms_enabled():
    return _state["deterministic"]


def set_float32_matmul_precision(precision):
    if precision not in ("highest", "high", "medium"):
        raise RuntimeError(f"Invalid precision: {precision}")
    _state["matmul"] = precision


def get_float32_matmul_precision():
    return _state["matmul"]
