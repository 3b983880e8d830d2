"""Gradient clipping, in place on ``.grad`` as PyTorch's."""

import numpy as np

from ember._tensor import Tensor, wrap


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    Returns the total norm (before clipping) as a tensor.
    """
    grads = _grads(parameters)
    if not grads:
        return wrap(np.asarray(0.0, np.float32))
    norm_type = float(norm_type)
    if norm_type == float("inf"):
        total = max(float(np.abs(g._data).max()) if g._data.size else 0.0 for g in grads)
    else:
        total = sum(
            float(np.sum(np.abs(g._data.astype(np.float64)) ** norm_type)) for g in grads
        ) ** (1.0 / norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
            "so it cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    coef = max_norm / (total + 1e-6)
    if coef < 1:
        for g in grads:
            g._data *= g._data.dtype.type(coef)
            g._bump_version()
    return wrap(np.asarray(total, grads[0]._data.dtype))


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element to [-clip_value, clip_value]."""
    for g in _grads(parameters):
        np.clip(g._data, -clip_value, clip_value, out=g._data)
        g._bump_version()
