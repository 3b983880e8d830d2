"""Draws that ember's tensor factories do not offer (gamma, Poisson, binomial, multinomial).

Every draw comes from ember's generator, so ``ember.manual_seed`` makes it reproducible.
The standard gamma draw carries the implicit reparameterisation gradient d sample / d alpha.
"""

import numpy as np

from ember._random import np_generator
from ember._tensor import wrap
from ember.autograd.function import ArrayFunction

__all__ = ["standard_gamma", "poisson", "binomial", "multinomial"]


def _regularized_lower_gamma_grad(alpha, x):
    """-(dP/dalpha) / (dP/dx) for P(alpha, x) the regularized lower incomplete gamma.

    This is dx/dalpha along P(alpha, x) = u fixed, the gradient of a gamma sample with
    respect to its concentration (implicit reparameterisation, Figurnov et al. 2018). dP/dalpha
    has no closed form; a central difference in float64 with a step relative to alpha gives
    it to about 1e-8.
    """
    from scipy import special

    alpha = alpha.astype(np.float64)
    x = x.astype(np.float64)
    h = 1e-5 * np.maximum(alpha, 1e-3)
    dp_dalpha = (special.gammainc(alpha + h, x) - special.gammainc(alpha - h, x)) / (2 * h)
    log_density = (alpha - 1) * np.log(x) - x - special.gammaln(alpha)
    return -dp_dalpha / np.exp(log_density)


class _StandardGamma(ArrayFunction):
    """A Gamma(alpha, 1) sample, differentiable in alpha."""

    @staticmethod
    def forward(ctx, alpha, shape):
        a = np.broadcast_to(alpha, shape)
        draw = np_generator().standard_gamma(a.astype(np.float64))
        tiny = np.finfo(alpha.dtype).tiny
        sample = np.maximum(draw, tiny).astype(alpha.dtype)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(alpha)
            ctx.sample = sample.copy()  # the output may later be written in place
        return sample

    @staticmethod
    def backward(ctx, g):
        (alpha,) = ctx.saved_tensors
        a = np.broadcast_to(alpha._data, ctx.sample.shape)
        grad_alpha = _regularized_lower_gamma_grad(a, ctx.sample).astype(ctx.sample.dtype)
        return g * wrap(grad_alpha), None


def standard_gamma(alpha, shape):
    """Gamma(alpha, 1) draws of ``shape`` (alpha broadcast to it)."""
    return _StandardGamma.apply(alpha, tuple(shape))


def poisson(rate, shape):
    """Poisson(rate) counts of ``shape``, in rate's dtype."""
    r = np.broadcast_to(rate.detach()._data, shape)
    return wrap(np_generator().poisson(r).astype(r.dtype))


def binomial(total_count, probs, shape):
    """Binomial(total_count, probs) counts of ``shape``, in probs' dtype."""
    n = np.broadcast_to(total_count.detach()._data, shape).astype(np.int64)
    p = np.broadcast_to(probs.detach()._data, shape)
    return wrap(np_generator().binomial(n, p.astype(np.float64)).astype(p.dtype))


def multinomial(total_count, probs, shape):
    """Counts over the last dim of ``shape`` of ``total_count`` draws from ``probs``."""
    p = np.broadcast_to(probs.detach()._data, shape).astype(np.float64)
    p = p / p.sum(-1, keepdims=True)
    return wrap(np_generator().multinomial(total_count, p).astype(probs._data.dtype))
