"""``torch.multiprocessing`` for ember: Python's multiprocessing, ``spawn`` over mpiexec, and
tensors in shared memory (``Tensor.share_memory_()``) that pass to child processes by name."""

from multiprocessing import (
    Array,
    Barrier,
    Condition,
    Event,
    JoinableQueue,
    Lock,
    Manager,
    Pipe,
    Pool,
    Process,
    Queue,
    RLock,
    Semaphore,
    SimpleQueue,
    Value,
    active_children,
    cpu_count,
    current_process,
    get_all_start_methods,
    get_context,
    get_start_method,
    set_start_method,
)

from ember.multiprocessing import shared_memory as _shared_memory  # noqa: F401  (registers reducers)
from ember.multiprocessing.spawn import (
    ProcessContext,
    ProcessException,
    ProcessExitedException,
    ProcessRaisedException,
    spawn,
    start_processes,
)

SpawnContext = ProcessContext


def get_sharing_strategy():
    return "file_system"


def get_all_sharing_strategies():
    return {"file_system"}


def set_sharing_strategy(new_strategy):
    if new_strategy not in get_all_sharing_strategies():
        raise ValueError(f"set_sharing_strategy: unknown strategy {new_strategy!r}")


__all__ = [
    "Array", "Barrier", "Condition", "Event", "JoinableQueue", "Lock", "Manager", "Pipe",
    "Pool", "Process", "Queue", "RLock", "Semaphore", "SimpleQueue", "Value",
    "active_children", "cpu_count", "current_process", "get_all_start_methods", "get_context",
    "get_start_method", "set_start_method", "ProcessContext", "ProcessException",
    "ProcessExitedException", "ProcessRaisedException", "SpawnContext", "spawn",
    "start_processes", "get_sharing_strategy", "get_all_sharing_strategies",
    "set_sharing_strategy",
]  # fmt: skip
