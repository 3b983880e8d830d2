"""Gradients that cannot be differentiated again, and say so when a second backward asks.

A backward computed on plain arrays gives a gradient with no graph: under
``create_graph=True`` its second derivative would silently be zero. ``first_order_only`` ties
such a gradient to the tensors it was computed from through a node whose backward raises, as
PyTorch does for a derivative it does not implement.
"""

from ember._tensor import Tensor, wrap
from ember.autograd.function import ArrayFunction
from ember.autograd.grad_mode import is_grad_enabled

__all__ = ["first_order_only"]


class _FirstOrderOnly(ArrayFunction):
    @staticmethod
    def forward(ctx, grad, op, *sources):
        ctx.op = op
        return grad

    @staticmethod
    def backward(ctx, _gg):
        raise RuntimeError(
            f"the derivative for '{ctx.op}' is not implemented: its gradient cannot be "
            "differentiated again (create_graph=True)"
        )


def first_order_only(grad, op, *sources):
    """``grad`` (an array) as a Tensor; when a backward is being recorded and any of
    ``sources`` requires grad, differentiating it again raises instead of giving zero."""
    if grad is None:
        return None
    if is_grad_enabled() and any(isinstance(s, Tensor) and s.requires_grad for s in sources):
        return _FirstOrderOnly.apply(wrap(grad), op, *sources)
    return wrap(grad)
