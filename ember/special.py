"""ember.special: the ``torch.special`` namespace.

The functions live in ember's op families (``ember._ops.special`` for the gamma, Bessel and
normal-distribution functions); this module only gathers them under PyTorch's names.
"""

from ember._ops._numpy_kwargs import numpy_kwargs
from ember._ops.elementwise import erf, erfc, erfinv, exp2, expm1, log1p, logit, round
from ember._ops.elementwise import sigmoid as expit
from ember._ops.orthogonal_polynomials import (
    chebyshev_polynomial_t,
    chebyshev_polynomial_u,
    chebyshev_polynomial_v,
    chebyshev_polynomial_w,
    hermite_polynomial_h,
    hermite_polynomial_he,
    laguerre_polynomial_l,
    legendre_polynomial_p,
    shifted_chebyshev_polynomial_t,
    shifted_chebyshev_polynomial_u,
    shifted_chebyshev_polynomial_v,
    shifted_chebyshev_polynomial_w,
)
from ember._ops.reduce import logsumexp
from ember._ops.special import (
    airy_ai,
    bessel_j0,
    bessel_j1,
    bessel_y0,
    bessel_y1,
    digamma,
    entr,
    erfcx,
    gammainc,
    gammaincc,
    i0,
    i0e,
    i1,
    i1e,
    log_ndtr,
    modified_bessel_i0,
    modified_bessel_i1,
    modified_bessel_k0,
    modified_bessel_k1,
    ndtr,
    ndtri,
    polygamma,
    scaled_modified_bessel_k0,
    scaled_modified_bessel_k1,
    sinc,
    spherical_bessel_j0,
    xlog1py,
    xlogy,
    zeta,
)
from ember._ops.special import lgamma as gammaln
from ember._ops.special import mvlgamma as multigammaln
from ember.nn import functional as _functional

psi = digamma

__all__ = [
    "airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "digamma", "entr", "erf",
    "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1", "gammainc", "gammaincc", "gammaln",
    "i0", "i0e", "i1", "i1e", "log1p", "log_ndtr", "log_softmax", "logit", "logsumexp",
    "modified_bessel_i0", "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
    "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round", "scaled_modified_bessel_k0",
    "scaled_modified_bessel_k1", "sinc", "softmax", "spherical_bessel_j0", "xlog1py", "xlogy",
    "zeta", "chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
    "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u",
    "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w", "hermite_polynomial_h",
    "hermite_polynomial_he", "laguerre_polynomial_l", "legendre_polynomial_p",
]  # fmt: skip


@numpy_kwargs
def softmax(input, dim, *, dtype=None):
    """exp(x) / sum(exp(x)) along ``dim``, computed in ``dtype`` when given."""
    return _functional.softmax(input, dim, dtype=dtype)


@numpy_kwargs
def log_softmax(input, dim, *, dtype=None):
    """log(softmax(x)) along ``dim``, computed in ``dtype`` when given."""
    return _functional.log_softmax(input, dim, dtype=dtype)
