"""Dirichlet distribution over the probability simplex."""

from ember import _dtype
from ember._ops.special import digamma, lgamma, xlogy
from ember.distributions import _sampling, constraints
from ember.distributions.distribution import Distribution

__all__ = ["Dirichlet"]


class Dirichlet(Distribution):
    """Density prod x_i^(a_i - 1) / B(a) on the simplex; a = concentration (last dim: K).

    ``rsample`` normalises K gamma draws, differentiable in the concentration.
    """

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        shape = concentration.shape
        super().__init__(shape[:-1], shape[-1:], validate_args=validate_args)

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self):
        a = (self.concentration - 1).clamp(min=0.0)
        mode = a / a.sum(-1, keepdim=True)
        below_one = (self.concentration < 1).all(-1, keepdim=True)
        if bool(below_one.any()):
            from ember.nn.functional import one_hot

            peak = one_hot(self.concentration.argmax(-1), a.shape[-1]).type_as(mode)
            mode = below_one.type_as(mode) * peak + (1 - below_one.type_as(mode)) * mode
        return mode

    @property
    def variance(self):
        total = self.concentration.sum(-1, keepdim=True)
        return self.concentration * (total - self.concentration) / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        draws = _sampling.standard_gamma(self.concentration, shape)
        info = _dtype.finfo(draws.dtype)
        return (draws / draws.sum(-1, keepdim=True)).clamp(min=info.tiny, max=1 - info.eps)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        a = self.concentration
        return xlogy(a - 1.0, value).sum(-1) + lgamma(a.sum(-1)) - lgamma(a).sum(-1)

    def entropy(self):
        a = self.concentration
        k = a.shape[-1]
        total = a.sum(-1)
        return (lgamma(a).sum(-1) - lgamma(total) - (k - total) * digamma(total)
                - ((a - 1.0) * digamma(a)).sum(-1))  # fmt: skip
