"""Transforms against torch: forward, inverse, log |det J|, shapes, caching and composition."""

import numpy as np
import pytest
import torch

import ember

RNG = np.random.default_rng(5)
X = RNG.normal(size=(2, 3))
SIMPLEX = RNG.dirichlet(np.ones(4), size=2)


SHIFT, SCALE = np.array([0.5, -1.0, 2.0]), np.array([2.0, -0.5, 1.5])


def _make(lib, name):
    T = lib.distributions.transforms
    shift, scale = lib.tensor(SHIFT), lib.tensor(SCALE)
    makers = {
        "exp": lambda: T.ExpTransform(),
        "affine": lambda: T.AffineTransform(shift, scale),
        "affine-scalar": lambda: T.AffineTransform(1.0, 3.0),
        "affine-event": lambda: T.AffineTransform(shift, scale, event_dim=1),
        "sigmoid": lambda: T.SigmoidTransform(),
        "tanh": lambda: T.TanhTransform(),
        "power": lambda: T.PowerTransform(lib.tensor(2.5, dtype=lib.float64)),
        "softmax": lambda: T.SoftmaxTransform(),
        "stick": lambda: T.StickBreakingTransform(),
        "abs": lambda: T.AbsTransform(),
        "softplus": lambda: T.SoftplusTransform(),
        "independent": lambda: T.IndependentTransform(T.ExpTransform(), 1),
        "reshape": lambda: T.ReshapeTransform((2, 3), (3, 2)),
        "compose": lambda: T.ComposeTransform(
            [T.AffineTransform(0.5, 2.0), T.TanhTransform(), T.AffineTransform(1.0, 3.0)]
        ),
        "compose-to-simplex": lambda: T.ComposeTransform(
            [T.AffineTransform(0.0, 2.0), T.StickBreakingTransform()]
        ),
    }
    return makers[name]()


INPUTS = {"power": np.abs(X) + 0.1, "abs": X}
BIJECTIVE = ["exp", "affine", "affine-scalar", "affine-event", "sigmoid", "tanh", "power",
             "stick", "compose", "compose-to-simplex", "softplus", "independent",
             "reshape"]  # fmt: skip


@pytest.mark.parametrize("name", BIJECTIVE + ["softmax", "abs"])
def test_forward_inverse_and_flags(name):
    x = INPUTS.get(name, X)
    e_t, t_t = _make(ember, name), _make(torch, name)
    e_y, t_y = e_t(ember.tensor(x)), t_t(torch.tensor(x))
    np.testing.assert_allclose(e_y.numpy(), t_y.numpy(), rtol=1e-10)
    np.testing.assert_allclose(e_t.inv(e_y).numpy(), t_t.inv(t_y).numpy(), rtol=1e-8, atol=1e-10)
    assert e_t.bijective == t_t.bijective
    assert e_t.domain.event_dim == t_t.domain.event_dim
    assert e_t.codomain.event_dim == t_t.codomain.event_dim
    shape = tuple(x.shape)
    assert tuple(e_t.forward_shape(shape)) == tuple(t_t.forward_shape(shape))


@pytest.mark.parametrize("name", BIJECTIVE)
def test_log_abs_det_jacobian_and_its_gradient(name):
    x = INPUTS.get(name, X)
    e_x = ember.tensor(x, requires_grad=True)
    t_x = torch.tensor(x, requires_grad=True)
    e_t, t_t = _make(ember, name), _make(torch, name)
    e_j = e_t.log_abs_det_jacobian(e_x, e_t(e_x))
    t_j = t_t.log_abs_det_jacobian(t_x, t_t(t_x))
    np.testing.assert_allclose(e_j.detach().numpy(), t_j.detach().numpy(), rtol=1e-8, atol=1e-10)
    assert e_j.requires_grad == t_j.requires_grad
    if not t_j.requires_grad:  # a constant (an affine map with a number as scale)
        return
    e_j.sum().backward()
    t_j.sum().backward()
    np.testing.assert_allclose(e_x.grad.numpy(), t_x.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_stick_breaking_inverse_of_a_simplex_point():
    T = ember.distributions.transforms.StickBreakingTransform()
    t = torch.distributions.transforms.StickBreakingTransform()
    np.testing.assert_allclose(T.inv(ember.tensor(SIMPLEX)).numpy(),
                               t.inv(torch.tensor(SIMPLEX)).numpy(), rtol=1e-10)  # fmt: skip
    np.testing.assert_allclose(T(T.inv(ember.tensor(SIMPLEX))).numpy(), SIMPLEX, rtol=1e-10)


def test_cache_returns_the_exact_input():
    T = ember.distributions.transforms.TanhTransform(cache_size=1)
    x = ember.tensor([30.0, -0.5])  # tanh(30) rounds to 1: atanh could not give 30 back
    y = T(x)
    assert T.inv(y) is x
    assert ember.distributions.transforms.TanhTransform().inv(y).numpy()[0] == float("inf")
    with pytest.raises(ValueError):
        ember.distributions.transforms.ExpTransform(cache_size=2)


def test_inverse_of_inverse_and_equality():
    T = ember.distributions.transforms
    exp = T.ExpTransform()
    assert exp.inv.inv is exp
    assert exp == T.ExpTransform() and exp != T.TanhTransform()
    assert T.AffineTransform(1.0, 2.0) == T.AffineTransform(1.0, 2.0)
    assert T.AffineTransform(1.0, 2.0) != T.AffineTransform(1.0, 3.0)
    x = ember.tensor(X)
    np.testing.assert_allclose(exp.inv.log_abs_det_jacobian(exp(x), x).numpy(), -X)


def test_lower_cholesky_transform():
    square = RNG.normal(size=(2, 3, 3))
    e = ember.distributions.transforms.LowerCholeskyTransform()
    t = torch.distributions.transforms.LowerCholeskyTransform()
    e_y, t_y = e(ember.tensor(square)), t(torch.tensor(square))
    np.testing.assert_allclose(e_y.numpy(), t_y.numpy())
    np.testing.assert_allclose(e.inv(e_y).numpy(), t.inv(t_y).numpy())
    assert bool(ember.distributions.constraints.lower_cholesky.check(e_y).all())


def _constraints(lib):
    C = lib.distributions.constraints
    return [C.real, C.positive, C.nonnegative, C.greater_than(2.0), C.less_than(1.0),
            C.unit_interval, C.interval(-1.0, 3.0), C.simplex, C.real_vector,
            C.independent(C.positive, 1)]  # fmt: skip


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
@pytest.mark.parametrize("index", range(10))
def test_constraint_registries_match_torch(registry, index):
    e_c, t_c = _constraints(ember)[index], _constraints(torch)[index]
    e_t = getattr(ember.distributions, registry)(e_c)
    t_t = getattr(torch.distributions, registry)(t_c)
    assert repr(e_t) == repr(t_t)
    x = RNG.normal(size=(2, 3))
    e_y, t_y = e_t(ember.tensor(x)), t_t(torch.tensor(x))
    np.testing.assert_allclose(e_y.numpy(), t_y.numpy(), rtol=1e-10)
    assert bool(e_c.check(e_y).all())
    if registry == "biject_to":
        np.testing.assert_allclose(e_t.inv(e_y).numpy(), x, rtol=1e-8, atol=1e-10)
        e_j = e_t.log_abs_det_jacobian(ember.tensor(x), e_y)
        t_j = t_t.log_abs_det_jacobian(torch.tensor(x), t_y)
        np.testing.assert_allclose(e_j.numpy(), t_j.numpy(), rtol=1e-8, atol=1e-12)


def test_registry_errors():
    D = ember.distributions
    with pytest.raises(NotImplementedError, match="Cannot transform"):
        D.biject_to(D.constraints.lower_cholesky)
    with pytest.raises(TypeError):
        D.biject_to.register("positive", lambda c: None)
