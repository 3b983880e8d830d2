"""Multivariate normal with covariance cov_factor @ cov_factor.T + diag(cov_diag)."""

import math

from ember._ops.creation import eye, randn
from ember._ops.shape import broadcast_shapes, diag_embed
from ember._tensor import Size
from ember.distributions import constraints
from ember.distributions._linalg import cholesky, solve_lower
from ember.distributions.distribution import Distribution
from ember.distributions.utils import lazy_property

__all__ = ["LowRankMultivariateNormal"]


class LowRankMultivariateNormal(Distribution):
    """N(loc, W W^T + D): W = cov_factor (k x r), D = diag(cov_diag).

    log_prob and entropy go through the r x r capacitance matrix I + W^T D^-1 W
    (Woodbury identity and matrix determinant lemma), never a k x k factorisation.
    """

    arg_constraints = {
        "loc": constraints.real_vector,
        "cov_factor": constraints.independent(constraints.real, 2),
        "cov_diag": constraints.independent(constraints.positive, 1),
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        k = loc.shape[-1]
        if cov_factor.dim() < 2:
            raise ValueError(
                "cov_factor must be at least two-dimensional, with optional leading batch "
                "dimensions"
            )
        if cov_factor.shape[-2] != k:
            raise ValueError(
                f"cov_factor must be a batch of matrices with shape {k} x m, got "
                f"{tuple(cov_factor.shape)}"
            )
        if tuple(cov_diag.shape[-1:]) != (k,):
            raise ValueError(
                f"cov_diag must be a batch of vectors with shape {(k,)}, got "
                f"{tuple(cov_diag.shape)}"
            )
        batch_shape = Size(broadcast_shapes(loc.shape[:-1], cov_factor.shape[:-2],
                                            cov_diag.shape[:-1]))  # fmt: skip
        r = cov_factor.shape[-1]
        self.loc = loc.expand(batch_shape + (k,))
        self.cov_factor = cov_factor.expand(batch_shape + (k, r))
        self.cov_diag = cov_diag.expand(batch_shape + (k,))
        super().__init__(batch_shape, Size((k,)), validate_args=validate_args)

    @lazy_property
    def _capacitance_tril(self):
        w_over_d = self.cov_factor / self.cov_diag.unsqueeze(-1)
        r = self.cov_factor.shape[-1]
        capacitance = self.cov_factor.mT @ w_over_d + eye(r, dtype=self.loc.dtype)
        return cholesky(capacitance)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @lazy_property
    def variance(self):
        return self.cov_factor.pow(2).sum(-1) + self.cov_diag

    @lazy_property
    def covariance_matrix(self):
        return self.cov_factor @ self.cov_factor.mT + diag_embed(self.cov_diag)

    @lazy_property
    def scale_tril(self):
        return cholesky(self.covariance_matrix)

    @lazy_property
    def precision_matrix(self):
        from ember._ops.linalg import inv

        return inv(self.covariance_matrix)

    def rsample(self, sample_shape=()):
        if not isinstance(sample_shape, Size):
            sample_shape = Size(sample_shape)
        shape = self._extended_shape(sample_shape)
        r = self.cov_factor.shape[-1]
        eps_w = randn(shape[:-1] + (r,), dtype=self.loc.dtype)
        eps_d = randn(shape, dtype=self.loc.dtype)
        return (self.loc + (self.cov_factor @ eps_w.unsqueeze(-1)).squeeze(-1)
                + self.cov_diag.sqrt() * eps_d)  # fmt: skip

    def _log_det(self):
        capacitance_half = self._capacitance_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        return 2 * capacitance_half + self.cov_diag.log().sum(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        diff_over_d = diff / self.cov_diag
        projected = self.cov_factor.mT @ diff_over_d.unsqueeze(-1)
        m = solve_lower(self._capacitance_tril, projected).squeeze(-1)
        mahalanobis = (diff * diff_over_d).sum(-1) - m.pow(2).sum(-1)
        k = self._event_shape[0]
        return -0.5 * (k * math.log(2 * math.pi) + mahalanobis + self._log_det())

    def entropy(self):
        k = self._event_shape[0]
        return 0.5 * (k * (1.0 + math.log(2 * math.pi)) + self._log_det())
