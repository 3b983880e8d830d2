"""Backward passes computed by fused array kernels (activations, powers, unary math, softmax,
layer norm, cumsum) and the engine's in-place gradient accumulation: gradients as PyTorch's
in float32 (on inputs large enough to be split over threads, non-contiguous ones, broadcast
operands and a single differentiable operand), finite differences in float64, and the
recorded formulas under create_graph."""

import numpy as np
import pytest
import torch

import ember

LARGE = (600, 701)  # 420,600 elements: above the threaded kernels' threshold
SMALL = (3, 5)


def _fn(lib, name):
    f = lib.nn.functional
    return {
        "gelu": lambda x: f.gelu(x),
        "gelu_tanh": lambda x: f.gelu(x, approximate="tanh"),
        "silu": f.silu,
        "sigmoid": lambda x: x.sigmoid(),
        "tanh": lambda x: x.tanh(),
        "relu": f.relu,
        "leaky_relu": lambda x: f.leaky_relu(x, 0.2),
        "leaky_relu_steep": lambda x: f.leaky_relu(x, 1.5),
        "softmax_last": lambda x: lib.softmax(x, -1),
        "softmax_first": lambda x: lib.softmax(x, 0),
        "log_softmax_last": lambda x: lib.log_softmax(x, -1),
        "log_softmax_first": lambda x: lib.log_softmax(x, 0),
        "square": lambda x: x**2,
        "cube": lambda x: x**3,
        "power_zero": lambda x: x**0,
        "exp": lambda x: x.exp(),
        "sqrt": lambda x: (x.abs() + 0.5).sqrt(),
        "rsqrt": lambda x: (x.abs() + 0.5).rsqrt(),
        "reciprocal": lambda x: (x.abs() + 0.5).reciprocal(),
        "cumsum_last": lambda x: x.cumsum(-1),
        "cumsum_first": lambda x: x.cumsum(0),
        "layer_norm": lambda x: f.layer_norm(x, x.shape[-1:]),
    }[name]


NAMES = [
    "gelu", "gelu_tanh", "silu", "sigmoid", "tanh", "relu", "leaky_relu", "leaky_relu_steep",
    "softmax_last", "softmax_first", "log_softmax_last", "log_softmax_first", "square", "cube",
    "power_zero", "exp", "sqrt", "rsqrt", "reciprocal", "cumsum_last", "cumsum_first",
    "layer_norm",
]  # fmt: skip


def _inputs(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-4, 4, shape).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    x.reshape(-1)[:4] = [0.0, -0.0, 1e-30, -6.5]  # zero of both signs, a tiny and a far value
    return x, g


def _grads(lib, name, x, g, transpose=False):
    t = lib.tensor(x, requires_grad=True)
    inp = t.t() if transpose else t
    out = _fn(lib, name)(inp)
    out.backward(lib.tensor(g.T.copy() if transpose else g))
    return out.detach().numpy(), t.grad.numpy()


def _close(got, want, scale=1.0):
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-5 * scale)


@pytest.mark.parametrize("shape", [LARGE, SMALL, (7,)], ids=["large", "small", "1d"])
@pytest.mark.parametrize("name", NAMES)
def test_float32_gradient_matches_torch(name, shape):
    """Close to PyTorch's float32 result, and about as close as it to the float64 one
    (relative to 1 + |value|). Cumulative sums are compared with PyTorch only: its CPU
    kernel accumulates float32 in double precision, ember's in float32."""
    x, g = _inputs(shape, np.float32)
    ours, want = _grads(ember, name, x, g), _grads(torch, name, x, g)
    exact = _grads(torch, name, x.astype(np.float64), g.astype(np.float64))
    cumulative = name.startswith("cumsum")
    scale = 100.0 if cumulative else 1.0  # float32 sums of hundreds of terms
    for i in (0, 1):
        _close(ours[i], want[i], scale)
        if not cumulative:
            assert _error(ours[i], exact[i]) <= 2 * _error(want[i], exact[i]) + 1e-6


def _error(got, exact):
    return np.max(np.abs(got - exact) / (1 + np.abs(exact)))


@pytest.mark.parametrize("name", NAMES)
def test_non_contiguous_input_matches_torch(name):
    x, g = _inputs(LARGE, np.float32, seed=1)
    ours, want = _grads(ember, name, x, g, True), _grads(torch, name, x, g, True)
    scale = 100.0 if name.startswith("cumsum") else 1.0
    _close(ours[1], want[1], scale)


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_float64(name):
    x, _ = _inputs((4, 6), np.float64, seed=2)
    x.reshape(-1)[:4] = [0.3, -0.7, 1.1, -2.5]  # away from the kinks of relu and the powers
    t = ember.tensor(x, requires_grad=True)
    assert ember.autograd.gradcheck(_fn(ember, name), (t,))


@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "silu", "sigmoid", "leaky_relu",
                                  "softmax_last", "log_softmax_first", "cube", "rsqrt",
                                  "cumsum_last"])  # fmt: skip
def test_second_derivative_matches_torch(name):
    x, g = _inputs(SMALL, np.float64, seed=3)
    results = []
    for lib in (ember, torch):
        t, gt = lib.tensor(x, requires_grad=True), lib.tensor(g, requires_grad=True)
        (first,) = lib.autograd.grad(_fn(lib, name)(t), t, gt, create_graph=True)
        second = lib.autograd.grad((first * first.sin()).sum(), (t, gt), allow_unused=True)
        results.append([first.detach().numpy()] + [s if s is None else s.numpy() for s in second])
    for ours, want in zip(*results):  # an unused input (None) has a zero gradient
        ours, want = (np.zeros(SMALL) if r is None else r for r in (ours, want))
        np.testing.assert_allclose(ours, want, rtol=1e-10, atol=1e-12)


def test_exact_gelu_is_as_close_to_double_precision_as_torch_in_float32():
    """Errors scaled by max(1, |x|) (forward) and max(1, x^2) (gradient): ember's worst is at
    most 3e-7 or PyTorch's own float32 worst, whichever is larger."""
    x = np.linspace(-12, 12, 200_001).astype(np.float32)
    cdf = torch.special.ndtr(torch.tensor(x, dtype=torch.float64)).numpy()
    density = np.exp(-0.5 * x.astype(np.float64) ** 2) / np.sqrt(2 * np.pi)
    worst = {}
    for lib in (ember, torch):
        out, grad = _grads(lib, "gelu", x, np.ones_like(x))
        worst[lib] = (
            np.max(np.abs(out - x * cdf) / np.maximum(1, np.abs(x))),
            np.max(np.abs(grad - (cdf + x * density)) / np.maximum(1, x * x)),
        )
    for ours, theirs in zip(worst[ember], worst[torch]):
        assert ours <= max(3e-7, theirs * 1.001)


@pytest.mark.parametrize("op", ["mul", "add", "sub", "div"])
@pytest.mark.parametrize(
    "shapes", [(LARGE, LARGE), (LARGE, LARGE[-1:]), ((600, 1), LARGE)], ids=["same", "row", "col"]
)
@pytest.mark.parametrize("which", ["both", "first", "second"])
def test_binary_gradients_match_torch(op, shapes, which):
    rng = np.random.default_rng(4)
    a, b = (rng.uniform(0.5, 2.5, s).astype(np.float32) for s in shapes)
    g = rng.standard_normal(np.broadcast_shapes(*shapes)).astype(np.float32)
    results = []
    for lib in (ember, torch):
        ta = lib.tensor(a, requires_grad=which != "second")
        tb = lib.tensor(b, requires_grad=which != "first")
        getattr(lib, op)(ta, tb).backward(lib.tensor(g))
        results.append([None if t.grad is None else t.grad.numpy() for t in (ta, tb)])
    for ours, want in zip(*results):
        assert (ours is None) == (want is None)
        if want is not None:
            np.testing.assert_allclose(ours, want, rtol=1e-5, atol=1e-4)


def test_accumulated_gradients_do_not_alias_user_tensors():
    """A gradient given by the caller, or the same gradient going to two leaves, is copied
    into .grad; one made by the backward pass alone is kept without a copy."""
    x = ember.ones(600, 701, requires_grad=True)
    y = ember.ones(600, 701, requires_grad=True)
    given = ember.full((600, 701), 2.0)
    (x + y).backward(given)
    assert not np.shares_memory(x.grad._data, given._data)
    assert not np.shares_memory(x.grad._data, y.grad._data)
    x.grad = None
    x.reshape(-1).backward(given.reshape(-1))
    assert not np.shares_memory(x.grad._data, given._data)
    np.testing.assert_array_equal(given.numpy(), 2.0)  # the caller's tensor is untouched
    x.grad = None
    (x * x + x.exp() + x.sigmoid()).backward(given)  # three gradients summed into one buffer
    expected = 2.0 * (2.0 + np.e + torch.sigmoid(torch.tensor(1.0)).item() ** 2 / np.e)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)
    np.testing.assert_array_equal(given.numpy(), 2.0)


def test_hooked_gradients_are_not_written_afterwards():
    """A gradient a hook kept stays as it was when later gradients are summed or
    accumulated into .grad."""
    kept_x, kept_mid = [], []
    x = ember.tensor(np.full((600, 701), 0.5, np.float32), requires_grad=True)
    x.register_hook(kept_x.append)
    mid = x * 3
    mid.register_hook(kept_mid.append)
    for _ in range(2):
        (mid * mid + mid.exp()).sum().backward(retain_graph=True)
    want_mid = 2 * 1.5 + np.exp(1.5)
    for g in kept_mid:
        np.testing.assert_allclose(g.numpy(), want_mid, rtol=1e-6)
    for g in kept_x:
        np.testing.assert_allclose(g.numpy(), 3 * want_mid, rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), 2 * 3 * want_mid, rtol=1e-6)


def test_in_place_leaky_relu_still_differentiates():
    x, g = _inputs(SMALL, np.float32)
    results = []
    for lib in (ember, torch):
        t = lib.tensor(x, requires_grad=True)
        out = lib.nn.functional.leaky_relu(t * 1, 0.1, inplace=True)
        out.backward(lib.tensor(g))
        results.append(t.grad.numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)
