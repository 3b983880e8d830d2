"""The same distributions built in ember and in torch from the same NumPy parameters.

Each case names a constructor (called with ``lib.distributions`` and the parameters as
``lib`` tensors), the parameters, which of them get gradients, and values inside the support
to evaluate log_prob, cdf and icdf at.
"""

from dataclasses import dataclass, field

import numpy as np

RNG = np.random.default_rng(1234)


def _positive(*shape, low=0.5, high=2.5):
    return RNG.uniform(low, high, size=shape)


def _simplex(*shape):
    p = RNG.uniform(0.2, 1.0, size=shape)
    return p / p.sum(-1, keepdims=True)


def _spd(k, batch=()):
    a = RNG.normal(size=(*batch, k, k))
    return a @ np.swapaxes(a, -1, -2) + k * np.eye(k)


@dataclass
class Case:
    name: str
    build: object  # (distributions module, params as tensors) -> distribution
    params: dict
    grad: tuple = ()  # the parameters that require grad
    value: np.ndarray | None = None  # points in the support, shape (..., batch, event)
    probs: np.ndarray | None = field(default=None)  # points in (0, 1) for icdf
    moments: bool = True  # finite mean and variance, checked against samples
    integer_value: bool = False  # values are counts or indices (int64 for Categorical)


def _tensor_params(lib, case, requires_grad):
    out = {}
    for k, v in case.params.items():
        if isinstance(v, np.ndarray):
            out[k] = lib.tensor(v, requires_grad=requires_grad and k in case.grad)
        else:
            out[k] = v
    return out


def build(lib, case, requires_grad=False):
    """The distribution of ``case`` in ``lib`` (ember or torch) and its parameter tensors."""
    params = _tensor_params(lib, case, requires_grad)
    return case.build(lib, params), params


_B = (3,)  # a batch shape used by most cases
_U = RNG.uniform(0.05, 0.95, size=(2, *_B))

CASES = [
    Case("Normal", lambda t, p: t.distributions.Normal(p["loc"], p["scale"]),
         {"loc": RNG.normal(size=_B), "scale": _positive(*_B)}, ("loc", "scale"),
         RNG.normal(size=(2, *_B)), _U),
    Case("Normal-broadcast", lambda t, p: t.distributions.Normal(p["loc"], 2.0),
         {"loc": RNG.normal(size=(2, 1))}, ("loc",), RNG.normal(size=(2, 3)), None),
    Case("LogNormal", lambda t, p: t.distributions.LogNormal(p["loc"], p["scale"]),
         {"loc": RNG.normal(size=_B) * 0.3, "scale": _positive(*_B, low=0.2, high=0.6)},
         ("loc", "scale"), _positive(2, *_B), _U),
    Case("HalfNormal", lambda t, p: t.distributions.HalfNormal(p["scale"]),
         {"scale": _positive(*_B)}, ("scale",), _positive(2, *_B), _U),
    Case("Laplace", lambda t, p: t.distributions.Laplace(p["loc"], p["scale"]),
         {"loc": RNG.normal(size=_B), "scale": _positive(*_B)}, ("loc", "scale"),
         RNG.normal(size=(2, *_B)), _U),
    Case("Cauchy", lambda t, p: t.distributions.Cauchy(p["loc"], p["scale"]),
         {"loc": RNG.normal(size=_B), "scale": _positive(*_B)}, ("loc", "scale"),
         RNG.normal(size=(2, *_B)), _U, moments=False),
    Case("Gumbel", lambda t, p: t.distributions.Gumbel(p["loc"], p["scale"]),
         {"loc": RNG.normal(size=_B), "scale": _positive(*_B)}, ("loc", "scale"),
         RNG.normal(size=(2, *_B)), _U),
    Case("HalfCauchy", lambda t, p: t.distributions.HalfCauchy(p["scale"]),
         {"scale": _positive(*_B)}, ("scale",), _positive(2, *_B), _U, moments=False),
    Case("Weibull", lambda t, p: t.distributions.Weibull(p["scale"], p["concentration"]),
         {"scale": _positive(*_B), "concentration": _positive(*_B, low=1.5, high=3.0)},
         ("scale", "concentration"), _positive(2, *_B), None),
    Case("Pareto", lambda t, p: t.distributions.Pareto(p["scale"], p["alpha"]),
         {"scale": _positive(*_B, low=0.5, high=1.0), "alpha": _positive(*_B, low=5.0, high=8.0)},
         ("scale", "alpha"), _positive(2, *_B, low=1.0, high=3.0), None),
    Case("NegativeBinomial", lambda t, p: t.distributions.NegativeBinomial(
         p["total_count"], p["probs"]),
         {"total_count": _positive(*_B, low=2.0, high=6.0),
          "probs": RNG.uniform(0.2, 0.6, size=_B)},
         ("total_count", "probs"), RNG.integers(0, 8, size=(2, *_B)).astype(np.float64), None,
         integer_value=True),
    Case("Uniform", lambda t, p: t.distributions.Uniform(p["low"], p["high"]),
         {"low": -_positive(*_B), "high": _positive(*_B)}, ("low", "high"),
         RNG.uniform(-0.4, 0.4, size=(2, *_B)), _U),
    Case("Exponential", lambda t, p: t.distributions.Exponential(p["rate"]),
         {"rate": _positive(*_B)}, ("rate",), _positive(2, *_B), _U),
    Case("Gamma", lambda t, p: t.distributions.Gamma(p["concentration"], p["rate"]),
         {"concentration": _positive(*_B), "rate": _positive(*_B)}, ("concentration", "rate"),
         _positive(2, *_B), None),
    Case("Chi2", lambda t, p: t.distributions.Chi2(p["df"]),
         {"df": _positive(*_B, low=2.0, high=5.0)}, ("df",), _positive(2, *_B), None),
    Case("Beta", lambda t, p: t.distributions.Beta(p["a"], p["b"]),
         {"a": _positive(*_B, low=1.2), "b": _positive(*_B, low=1.2)}, ("a", "b"),
         RNG.uniform(0.05, 0.95, size=(2, *_B)), None),
    Case("Dirichlet", lambda t, p: t.distributions.Dirichlet(p["concentration"]),
         {"concentration": _positive(2, 4, low=1.2)}, ("concentration",), _simplex(3, 2, 4),
         None),
    Case("StudentT", lambda t, p: t.distributions.StudentT(p["df"], p["loc"], p["scale"]),
         {"df": _positive(*_B, low=5.0, high=9.0), "loc": RNG.normal(size=_B),
          "scale": _positive(*_B)}, ("df", "loc", "scale"), RNG.normal(size=(2, *_B)), None),
    Case("Poisson", lambda t, p: t.distributions.Poisson(p["rate"]),
         {"rate": _positive(*_B, low=1.0, high=4.0)}, ("rate",),
         RNG.integers(0, 6, size=(2, *_B)).astype(np.float64), None, integer_value=True),
    Case("Geometric", lambda t, p: t.distributions.Geometric(p["probs"]),
         {"probs": RNG.uniform(0.3, 0.8, size=_B)}, ("probs",),
         RNG.integers(0, 5, size=(2, *_B)).astype(np.float64), None, integer_value=True),
    Case("Geometric-logits", lambda t, p: t.distributions.Geometric(logits=p["logits"]),
         {"logits": RNG.normal(size=_B)}, ("logits",),
         RNG.integers(0, 5, size=(2, *_B)).astype(np.float64), None, integer_value=True),
    Case("Bernoulli", lambda t, p: t.distributions.Bernoulli(p["probs"]),
         {"probs": RNG.uniform(0.1, 0.9, size=_B)}, ("probs",),
         RNG.integers(0, 2, size=(2, *_B)).astype(np.float64), None, integer_value=True),
    Case("Bernoulli-logits", lambda t, p: t.distributions.Bernoulli(logits=p["logits"]),
         {"logits": RNG.normal(size=_B)}, ("logits",),
         RNG.integers(0, 2, size=(2, *_B)).astype(np.float64), None, integer_value=True),
    Case("Binomial", lambda t, p: t.distributions.Binomial(5, p["probs"]),
         {"probs": RNG.uniform(0.1, 0.9, size=_B)}, ("probs",),
         RNG.integers(0, 6, size=(2, *_B)).astype(np.float64), None, integer_value=True),
    Case("Binomial-logits", lambda t, p: t.distributions.Binomial(
         p["total_count"], logits=p["logits"]),
         {"total_count": np.array([3.0, 7.0, 7.0]), "logits": RNG.normal(size=_B)}, ("logits",),
         np.array([[0.0, 3.0, 7.0], [3.0, 0.0, 2.0]]), None, integer_value=True),
    Case("Categorical", lambda t, p: t.distributions.Categorical(p["probs"]),
         {"probs": _simplex(*_B, 4)}, ("probs",), RNG.integers(0, 4, size=(2, *_B)), None,
         moments=False, integer_value=True),
    Case("Categorical-logits", lambda t, p: t.distributions.Categorical(logits=p["logits"]),
         {"logits": RNG.normal(size=(*_B, 4))}, ("logits",), RNG.integers(0, 4, size=(2, *_B)),
         None, moments=False, integer_value=True),
    Case("OneHotCategorical", lambda t, p: t.distributions.OneHotCategorical(p["probs"]),
         {"probs": _simplex(*_B, 4)}, ("probs",),
         np.eye(4)[RNG.integers(0, 4, size=(2, *_B))], None, integer_value=True),
    Case("OneHotCategoricalStraightThrough",
         lambda t, p: t.distributions.OneHotCategoricalStraightThrough(p["probs"]),
         {"probs": _simplex(*_B, 4)}, ("probs",),
         np.eye(4)[RNG.integers(0, 4, size=(2, *_B))], None, integer_value=True),
    Case("LogisticNormal", lambda t, p: t.distributions.LogisticNormal(p["loc"], p["scale"]),
         {"loc": RNG.normal(size=(2, 3)), "scale": _positive(2, 3)}, ("loc", "scale"),
         _simplex(3, 2, 4), None, moments=False),
    Case("Multinomial", lambda t, p: t.distributions.Multinomial(6, p["probs"]),
         {"probs": _simplex(2, 3)}, ("probs",), np.array([[[1.0, 2.0, 3.0], [6.0, 0.0, 0.0]]]),
         None, integer_value=True),
    Case("MVN-covariance", lambda t, p: t.distributions.MultivariateNormal(
         p["loc"], covariance_matrix=p["cov"]),
         {"loc": RNG.normal(size=(2, 3)), "cov": _spd(3)}, ("loc", "cov"),
         RNG.normal(size=(4, 2, 3)), None),
    Case("MVN-precision", lambda t, p: t.distributions.MultivariateNormal(
         p["loc"], precision_matrix=p["prec"]),
         {"loc": RNG.normal(size=(3,)), "prec": _spd(3, (2,))}, ("loc", "prec"),
         RNG.normal(size=(4, 2, 3)), None),
    Case("MVN-scale_tril", lambda t, p: t.distributions.MultivariateNormal(
         p["loc"], scale_tril=p["tril"]),
         {"loc": RNG.normal(size=(2, 3)), "tril": np.linalg.cholesky(_spd(3, (2,)))},
         ("loc", "tril"), RNG.normal(size=(4, 2, 3)), None),
    Case("LowRankMVN", lambda t, p: t.distributions.LowRankMultivariateNormal(
         p["loc"], p["factor"], p["diag"]),
         {"loc": RNG.normal(size=(2, 4)), "factor": RNG.normal(size=(2, 4, 2)),
          "diag": _positive(2, 4)}, ("loc", "factor", "diag"), RNG.normal(size=(3, 2, 4)), None),
    Case("Independent-Normal", lambda t, p: t.distributions.Independent(
         t.distributions.Normal(p["loc"], p["scale"]), 1),
         {"loc": RNG.normal(size=(2, 3)), "scale": _positive(2, 3)}, ("loc", "scale"),
         RNG.normal(size=(4, 2, 3)), None),
    Case("RelaxedBernoulli", lambda t, p: t.distributions.RelaxedBernoulli(
         p["temperature"], p["probs"]),
         {"temperature": np.array(0.7), "probs": RNG.uniform(0.1, 0.9, size=_B)},
         ("temperature", "probs"), RNG.uniform(0.05, 0.95, size=(2, *_B)), None,
         moments=False),
    Case("RelaxedOneHotCategorical", lambda t, p: t.distributions.RelaxedOneHotCategorical(
         p["temperature"], p["probs"]),
         {"temperature": np.array(0.7), "probs": _simplex(2, 4)}, ("temperature", "probs"),
         _simplex(3, 2, 4), None, moments=False),
    Case("MixtureSameFamily", lambda t, p: t.distributions.MixtureSameFamily(
         t.distributions.Categorical(p["weights"]),
         t.distributions.Normal(p["loc"], p["scale"])),
         {"weights": _simplex(2, 3), "loc": RNG.normal(size=(2, 3)) * 2,
          "scale": _positive(2, 3)}, ("weights", "loc", "scale"), RNG.normal(size=(4, 2)), None),
    Case("MixtureSameFamily-MVN", lambda t, p: t.distributions.MixtureSameFamily(
         t.distributions.Categorical(logits=p["logits"]),
         t.distributions.Independent(t.distributions.Normal(p["loc"], p["scale"]), 1)),
         {"logits": RNG.normal(size=(3,)), "loc": RNG.normal(size=(3, 2)),
          "scale": _positive(3, 2)}, ("logits", "loc", "scale"), RNG.normal(size=(4, 2)), None),
    Case("Transformed-affine-exp", lambda t, p: t.distributions.TransformedDistribution(
         t.distributions.Normal(p["loc"], p["scale"]),
         [t.distributions.transforms.AffineTransform(p["shift"], p["factor"]),
          t.distributions.transforms.ExpTransform()]),
         {"loc": RNG.normal(size=_B) * 0.3, "scale": _positive(*_B, low=0.2, high=0.5),
          "shift": RNG.normal(size=_B) * 0.2, "factor": -_positive(*_B, low=0.5, high=1.0)},
         ("loc", "scale", "shift", "factor"), _positive(2, *_B), _U, moments=False),
    Case("Transformed-tanh", lambda t, p: t.distributions.TransformedDistribution(
         t.distributions.Normal(p["loc"], p["scale"]),
         [t.distributions.transforms.TanhTransform()]),
         {"loc": RNG.normal(size=_B), "scale": _positive(*_B)}, ("loc", "scale"),
         RNG.uniform(-0.9, 0.9, size=(2, *_B)), _U, moments=False),
    Case("Transformed-stickbreaking", lambda t, p: t.distributions.TransformedDistribution(
         t.distributions.Normal(p["loc"], p["scale"]),
         [t.distributions.transforms.StickBreakingTransform()]),
         {"loc": RNG.normal(size=(2, 3)), "scale": _positive(2, 3)}, ("loc", "scale"),
         _simplex(3, 2, 4), None, moments=False),
    Case("Transformed-power-sigmoid", lambda t, p: t.distributions.TransformedDistribution(
         t.distributions.Normal(p["loc"], p["scale"]),
         [t.distributions.transforms.SigmoidTransform(),
          t.distributions.transforms.PowerTransform(p["exponent"])]),
         {"loc": RNG.normal(size=_B), "scale": _positive(*_B),
          "exponent": _positive(*_B)}, ("loc", "scale", "exponent"),
         RNG.uniform(0.05, 0.95, size=(2, *_B)), None, moments=False),
]  # fmt: skip

BY_NAME = {c.name: c for c in CASES}
