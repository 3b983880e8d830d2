"""ember.autograd: backward, grad, custom Functions and gradient checks."""

import numpy as np

from ember._tensor import Tensor, wrap
from ember.autograd import anomaly_mode, grad_mode
from ember.autograd.anomaly_mode import detect_anomaly, set_detect_anomaly
from ember.autograd.function import Function, FunctionCtx, once_differentiable
from ember.autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)

__all__ = [
    "backward", "grad", "Function", "FunctionCtx", "once_differentiable", "Variable",
    "no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
    "detect_anomaly", "set_detect_anomaly", "gradcheck", "gradgradcheck", "functional",
    "anomaly_mode", "grad_mode",
]  # fmt: skip


def _as_tuple(x):
    if x is None:
        return None
    return (x,) if isinstance(x, Tensor) else tuple(x)


def _make_root_grads(outputs, grad_outputs, op):
    grads = []
    for i, out in enumerate(outputs):
        g = grad_outputs[i] if grad_outputs is not None else None
        if g is None:
            if out._data.size != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not out.is_floating_point():
                raise RuntimeError(
                    f"grad can be implicitly created only for real scalar outputs but got "
                    f"{out.dtype}"
                )
            g = wrap(np.ones_like(out._data))
        elif not isinstance(g, Tensor):
            g = wrap(np.asarray(g, dtype=out._data.dtype))
        elif g.shape != out.shape:
            raise RuntimeError(
                f"{op}: Mismatch in shape: grad_output[{i}] has a shape of {list(g.shape)} and "
                f"output[{i}] has a shape of {list(out.shape)}."
            )
        elif g.dtype != out.dtype:  # PyTorch casts a given gradient to its output's dtype
            g = g.to(out.dtype)
        grads.append(g)
    return grads


def _check_outputs_require_grad(outputs):
    for i, out in enumerate(outputs):
        if not out._requires_grad:
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves."""
    from ember.autograd.engine import run_backward

    tensors = _as_tuple(tensors)
    grad_tensors = _as_tuple(grad_tensors)
    _check_outputs_require_grad(tensors)
    if retain_graph is None:
        retain_graph = create_graph
    inputs = _as_tuple(inputs)
    if inputs is not None and len(inputs) == 0:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    grads = _make_root_grads(tensors, grad_tensors, "backward")
    run_backward(tensors, grads, retain_graph, create_graph, inputs=inputs, accumulate=True)


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph=False,
    only_inputs=True,
    allow_unused=None,
    is_grads_batched=False,
    materialize_grads=False,
):
    """The gradients of ``outputs`` with respect to ``inputs``, without touching ``.grad``."""
    from ember.autograd.engine import run_backward

    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    grad_outputs = _as_tuple(grad_outputs)
    _check_outputs_require_grad(outputs)
    for i, t in enumerate(inputs):
        if not t._requires_grad:
            raise RuntimeError(
                f"One of the differentiated Tensors (input {i}) does not require grad"
            )
    if retain_graph is None:
        retain_graph = create_graph
    grads = _make_root_grads(outputs, grad_outputs, "grad")
    results = run_backward(outputs, grads, retain_graph, create_graph, inputs, accumulate=False)
    if allow_unused is None:
        allow_unused = materialize_grads
    for i, r in enumerate(results):
        if r is None:
            if materialize_grads:
                results[i] = wrap(np.zeros_like(inputs[i]._data))
            elif not allow_unused:
                raise RuntimeError(
                    "One of the differentiated Tensors appears to not have been used in the "
                    "graph. Set allow_unused=True if this is the desired behavior."
                )
    return tuple(results)


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
        from ember.autograd.engine import queue_callback

        queue_callback(callback)


Variable._execution_engine = _ExecutionEngine()


from ember.autograd import functional  # noqa: E402
from ember.autograd.gradcheck import gradcheck, gradgradcheck  # noqa: E402
