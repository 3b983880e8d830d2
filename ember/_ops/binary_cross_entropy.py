"""Binary cross-entropy on probabilities, with PyTorch's clamped logs and gradients.

The loss is -w (t log p + (1 - t) log(1 - p)) with both logs clamped to >= -100, so an input
of exactly 0 or 1 gives a finite loss. The input gradient is w (p - t) / p (1 - p) with the
denominator kept >= 1e-12: finite at 0 and 1, and tiny (not a clamped slope of zero or a
constant) for a saturated sigmoid. Its own derivatives are PyTorch's as well, so a gradient
penalty through the loss matches PyTorch.
"""

import numpy as np

from ember.autograd.function import ArrayFunction

__all__ = ["BinaryCrossEntropy"]

# PyTorch's 1e-12: rounded to float32 where it floors p (1 - p) in the gradient, exact in the
# gradient's own derivatives.
_EPS = float(np.float32(1e-12))
_EPS2 = 1e-12
_LOG_FLOOR = -100.0


class BinaryCrossEntropy(ArrayFunction):
    """Elementwise loss of probabilities ``p`` against targets ``t``, weighted by ``w``."""

    @staticmethod
    def forward(ctx, p, t, w):
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), _LOG_FLOOR)
            log_q = np.maximum(np.log1p(-p), _LOG_FLOOR)
        loss = (t - 1) * log_q - t * log_p
        if w is not None:
            loss = loss * w
        ctx.save_for_backward(p, t, w)
        return loss.astype(p.dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        p, t, w = ctx.saved_tensors
        gp = gt = None
        if ctx.needs_input_grad[0]:
            gp = BinaryCrossEntropyGrad.apply(g, p, t, w)
        if ctx.needs_input_grad[1]:  # unclamped, as PyTorch: infinite at p = 0 or 1
            gt = _weighted(g * ((1 - p).log() - p.log()), w)
        return gp, gt, None


class BinaryCrossEntropyGrad(ArrayFunction):
    """g w (p - t) / max(p (1 - p), eps): the loss's input gradient, itself differentiable."""

    @staticmethod
    def forward(ctx, g, p, t, w):
        out = g * (p - t) / np.maximum(p * (1 - p), _EPS)
        if w is not None:
            out = out * w
        ctx.save_for_backward(g, p, t, w)
        return out.astype(p.dtype, copy=False)

    @staticmethod
    def backward(ctx, gg):
        g, p, t, w = ctx.saved_tensors
        need_g, need_p, need_t = ctx.needs_input_grad[:3]
        dg = BinaryCrossEntropyGrad.apply(gg, p, t, w) if need_g else None
        dp = dt = None
        if need_p:  # PyTorch's second derivative, with eps added to each factor
            num = p * p - 2 * p * t + t
            den = ((p + _EPS2) * (1 - p + _EPS2)) ** 2
            dp = _weighted(gg * g * num / den, w)
        if need_t:
            dt = _weighted(-gg * g / (p * (1 - p)).clamp(min=_EPS2), w)
        return dg, dp, dt, None


def _weighted(x, w):
    return x if w is None else x * w
