"""Gradient clipping, in place on ``.grad`` as PyTorch's."""

import math

from ember._dtype import float32
from ember._ops.creation import tensor
from ember._tensor import Tensor
from ember.autograd.grad_mode import no_grad


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def _total_norm(grads, norm_type):
    """The norm of all gradients together, accumulated in float64."""
    if norm_type == math.inf:
        return max(float(g.abs().max()) if g.numel() else 0.0 for g in grads)
    powers = sum(float((g.double().abs() ** norm_type).sum()) for g in grads)
    return powers ** (1.0 / norm_type)


@no_grad()
def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    Returns the total norm (before clipping) as a tensor.
    """
    grads = _grads(parameters)
    if not grads:
        return tensor(0.0, dtype=float32)
    norm_type = float(norm_type)
    total = _total_norm(grads, norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
            "so it cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for g in grads:
            g.mul_(coef)
    return tensor(total, dtype=grads[0].dtype)


@no_grad()
def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element to [-clip_value, clip_value]."""
    for g in _grads(parameters):
        g.clamp_(-clip_value, clip_value)
