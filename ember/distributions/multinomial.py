"""Multinomial distribution."""

import math

from ember._ops.special import lgamma
from ember._tensor import Size
from ember.autograd.grad_mode import no_grad
from ember.distributions import _sampling, constraints
from ember.distributions.binomial import Binomial
from ember.distributions.categorical import Categorical
from ember.distributions.distribution import Distribution
from ember.distributions.utils import broadcast_all

__all__ = ["Multinomial"]


class Multinomial(Distribution):
    """Counts per category of ``total_count`` draws from a Categorical (event shape: K)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.independent(
        constraints.real, 1)}  # fmt: skip

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits, validate_args=validate_args)
        shape = self._categorical.param_shape
        super().__init__(shape[:-1], shape[-1:], validate_args=validate_args)

    def _check_parameters(self):
        """The inner Categorical has checked the parameters already."""

    def expand(self, batch_shape, _instance=None):
        new = _instance if _instance is not None else Multinomial.__new__(Multinomial)
        new.total_count = self.total_count
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, Size(batch_shape), self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return _Multinomial(self.total_count)

    @property
    def probs(self):
        return self._categorical.probs

    @property
    def logits(self):
        return self._categorical.logits

    @property
    def param_shape(self):
        return self._categorical.param_shape

    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        with no_grad():
            shape = self._extended_shape(sample_shape)
            return _sampling.multinomial(self.total_count, self.probs, shape)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        # 0 * log(0) is 0 here: a category of probability 0 that was never drawn
        logits = logits.masked_fill((value == 0) & (logits == -float("inf")), 0.0)
        log_factorial_n = lgamma(value.sum(-1) + 1)
        log_factorial_xs = lgamma(value + 1).sum(-1)
        return log_factorial_n - log_factorial_xs + (logits * value).sum(-1)

    def entropy(self):
        """n H(categorical) - log n! + sum_i E[log x_i!], x_i ~ Binomial(n, p_i)."""
        n = self.total_count
        marginals = Binomial(n, self.probs, validate_args=False)
        counts = marginals.enumerate_support(expand=False)[1:]  # log 0! = 0: skip 0
        weights = lgamma(counts + 1)
        expected_log_factorials = (marginals.log_prob(counts).exp() * weights).sum((0, -1))
        return n * self._categorical.entropy() - math.lgamma(n + 1) + expected_log_factorials

    def __repr__(self):
        return f"Multinomial(total_count: {self.total_count}, probs: {self.probs.size()})"


class _Multinomial(constraints.Constraint):
    """Non-negative integer counts that add up to ``total_count``."""

    is_discrete = True
    event_dim = 1

    def __init__(self, total_count):
        self.upper_bound = total_count

    def check(self, value):
        counts_ok = ((value % 1 == 0) & (value >= 0)).all(-1)
        return counts_ok & (value.sum(-1) <= self.upper_bound)
