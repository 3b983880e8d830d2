"""ember.autograd: backward, grad, custom Functions and gradient checks."""

from ember._tensor import Tensor
from ember.autograd import anomaly_mode, functional, grad_mode, graph, profiler
from ember.autograd.anomaly_mode import detect_anomaly, set_detect_anomaly
from ember.autograd.engine import backward, grad
from ember.autograd.engine import queue_callback as _queue_callback
from ember.autograd.function import Function, FunctionCtx, once_differentiable
from ember.autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from ember.autograd.gradcheck import gradcheck, gradgradcheck

__all__ = [
    "backward", "grad", "Function", "FunctionCtx", "once_differentiable", "Variable",
    "no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
    "detect_anomaly", "set_detect_anomaly", "gradcheck", "gradgradcheck", "functional",
    "anomaly_mode", "grad_mode", "graph", "profiler",
]  # fmt: skip


def Variable(data, requires_grad=False, volatile=False):
    """Deprecated alias kept for old code: returns ``data`` as a tensor."""
    t = data if isinstance(data, Tensor) else Tensor(data)
    if requires_grad:
        t.requires_grad_(True)
    return t


class _ExecutionEngine:
    """``Variable._execution_engine``: PyTorch's handle on the engine (``queue_callback``)."""

    @staticmethod
    def queue_callback(callback):
        _queue_callback(callback)


Variable._execution_engine = _ExecutionEngine()
