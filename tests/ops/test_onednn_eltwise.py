"""oneDNN's element-wise kernels against PyTorch's, values and special values."""

import numpy as np
import pytest
import torch

from ember._ops.activation import _silu
from ember._ops.unary import sigmoid_array
from ember.backends.onednn import eltwise, library

pytestmark = pytest.mark.skipif(not library.available(), reason="oneDNN is not installed")

SPECIAL = np.array(
    [np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-30, -1e-30, -5.0, -10.0, 5.5], np.float32
)
TORCH = {
    "gelu_erf": lambda t: torch.nn.functional.gelu(t),
    "gelu_tanh": lambda t: torch.nn.functional.gelu(t, approximate="tanh"),
    "exp": torch.exp,
    "logistic": torch.sigmoid,
    "swish": torch.nn.functional.silu,
    "tanh": torch.tanh,
    "sqrt": torch.sqrt,
}
EXACT = {"exp": np.exp, "logistic": sigmoid_array, "swish": _silu}
"""ember's NumPy functions for the inputs oneDNN does not compute exactly."""


def _inputs(n=1 << 17):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(n) * 3).astype(np.float32)
    x[: SPECIAL.size] = SPECIAL
    return x, rng.standard_normal(n).astype(np.float32)


@pytest.mark.parametrize("name", sorted(TORCH))
def test_forward_matches_torch(name):
    x, _ = _inputs()
    out = eltwise.forward(name, x, exact=EXACT.get(name))
    np.testing.assert_allclose(out, TORCH[name](torch.tensor(x)).numpy(), rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("name", ["gelu_erf", "gelu_tanh", "swish"])
def test_backward_matches_torch(name):
    """The derivatives ember takes from oneDNN (exp's, sigmoid's and tanh's come from the
    saved output instead)."""
    x, g = _inputs()
    tx = torch.tensor(x, requires_grad=True)
    (tg,) = torch.autograd.grad(TORCH[name](tx), tx, torch.tensor(g))
    gx = eltwise.backward(name, g, x)
    # In the tails PyTorch's float32 derivative cancels to 0 where the true value is ~2e-6.
    np.testing.assert_allclose(gx, tg.numpy(), rtol=1e-5, atol=5e-6)


@pytest.mark.parametrize("in_place", [False, True], ids=["new array", "in place"])
@pytest.mark.parametrize("name", sorted(EXACT))
def test_results_in_the_flushed_range_and_of_nan_are_pytorchs(name, in_place):
    """oneDNN gives 0 for exp(x) and sigmoid(x) below about x = -87 (PyTorch gives the tiny
    and subnormal values) and exp(NaN) = inf; those elements are recomputed, from the
    inputs as they were also when the result overwrites them."""
    x, _ = _inputs()
    tail = np.linspace(-104, -80, 4097, dtype=np.float32)
    x[SPECIAL.size : SPECIAL.size + tail.size] = tail
    expected = TORCH[name](torch.tensor(x)).numpy()
    out = eltwise.forward(name, x, exact=EXACT[name], out=x if in_place else None)
    assert (out is x) == in_place
    # one rounding of a subnormal result (1.4e-45) apart at most
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=3e-45)
    assert np.isnan(out[2]) and np.isnan(expected[2])


@pytest.mark.parametrize(
    "x",
    [
        np.ones(10, np.float32),  # too small to pay for the call
        np.ones(1 << 17, np.float64),
        np.ones((2, 1 << 17), np.float32)[:, ::2],  # not contiguous
    ],
    ids=["small", "float64", "strided"],
)
def test_declines_what_it_does_not_handle(x):
    assert eltwise.forward("gelu_erf", x) is None
    assert eltwise.backward("gelu_erf", x, x) is None


def test_sqrt_is_numpys_bit_for_bit():
    """The square root is exact in both: every bit agrees, NaN signs (negative inputs, -NaN)
    and subnormal inputs included, also through ``ember.sqrt`` and its gradient."""
    import ember

    x, _ = _inputs()
    x[SPECIAL.size : SPECIAL.size + 4] = [1e-45, 1e-40, -1e-45, -np.nan]
    x[SPECIAL.size + 4 :] = np.abs(x[SPECIAL.size + 4 :]) * np.float32(1e4)
    got = eltwise.forward("sqrt", x)
    np.testing.assert_array_equal(got.view(np.uint32), np.sqrt(x).view(np.uint32))
    t = ember.tensor(x, requires_grad=True)
    y = ember.sqrt(t)
    np.testing.assert_array_equal(y.detach().numpy().view(np.uint32), np.sqrt(x).view(np.uint32))
    y.backward(ember.ones_like(y))
    with np.errstate(all="ignore"):
        want = (1 / (2 * torch.sqrt(torch.tensor(x)))).numpy()
    np.testing.assert_allclose(t.grad.numpy(), want, rtol=1e-6)


ACTIVATIONS = {
    "leaky_relu": [0.01, 0.2, 1.5, -0.5, 0.0],
    "elu": [1.0, 0.3, -0.5],
}


@pytest.mark.parametrize("with_nan", [False, True], ids=["finite", "with NaN"])
@pytest.mark.parametrize(
    ("op", "parameter"), [(op, p) for op, ps in ACTIVATIONS.items() for p in ps]
)
def test_leaky_relu_and_elu_on_onednn_match_torch(op, parameter, with_nan):
    """Leaky ReLU and ELU of large float32 arrays run on oneDNN's relu and elu, forward and
    backward: PyTorch's values (leaky ReLU's bit for bit, signed zeros included) and
    gradients, the flushed range of exp included. oneDNN's backward takes the positive
    branch for NaN inputs; ember's gradient there is PyTorch's (NaN for ELU, the slope's for
    leaky ReLU), and a slope of 0 stays off oneDNN, whose relu then maps NaN to 0."""
    import ember

    x, g = _inputs()
    x[SPECIAL.size : SPECIAL.size + 200] = np.linspace(-104, -80, 200, dtype=np.float32)
    if not with_nan:
        x[np.isnan(x)] = 1.5
    ours = ember.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    got = getattr(ember.nn.functional, op)(ours, parameter)
    want = getattr(torch.nn.functional, op)(theirs, parameter)
    if op == "leaky_relu":
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
        np.testing.assert_array_equal(
            np.signbit(got.detach().numpy()), np.signbit(want.detach().numpy())
        )
    else:
        np.testing.assert_allclose(
            got.detach().numpy(), want.detach().numpy(), rtol=1e-6, atol=2e-7
        )
    got.backward(ember.tensor(g))
    want.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6, atol=2e-7)


def test_leaky_relu_and_elu_run_on_onednn():
    """The kernels these ops reach for large float32 arrays (the tests above compare values)."""
    x, _ = _inputs()
    assert eltwise.kernel_name("relu", x) is not None
    assert eltwise.kernel_name("elu", x) is not None


def test_log_softmax_on_onednns_exp_matches_torch():
    """Log-softmax of a large float32 array sums oneDNN's exponentials of the shifted rows;
    values, rows of -inf and NaN, shifts into the flushed range and the gradient stay
    PyTorch's."""
    import ember

    rng = np.random.default_rng(0)
    x = (rng.standard_normal((256, 512)) * 4).astype(np.float32)
    x[0, :3] = [-np.inf, 50, -200]  # exp(-250) after the shift: flushed by oneDNN
    x[1, :] = -np.inf
    x[2, 0] = np.nan
    x[3, :] = np.linspace(-100, 0, 512, dtype=np.float32)
    assert eltwise.accepts(x)
    ours = ember.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    with np.errstate(invalid="ignore"):
        got = ember.log_softmax(ours, -1)
    want = torch.log_softmax(theirs, -1)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6, atol=2e-6)
    g = rng.standard_normal(x.shape).astype(np.float32)
    got.backward(ember.tensor(g))
    want.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_rsqrt_is_numpys_bit_for_bit():
    """rsqrt takes its square root from oneDNN on large arrays: the reciprocal of an exact
    root, the same bits as NumPy's 1 / sqrt(x), special values included."""
    import ember

    x, _ = _inputs()
    x[SPECIAL.size : SPECIAL.size + 3] = [1e-45, -1.0, 3e38]
    assert eltwise.forward("sqrt", x) is not None
    got = ember.rsqrt(ember.tensor(x)).numpy()
    with np.errstate(all="ignore"):
        want = np.reciprocal(np.sqrt(x))
    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))


@pytest.mark.parametrize("op", ["tanh", "sigmoid"])
def test_tanh_and_sigmoid_backward_from_the_output_match_torch(op):
    """The backward of a large float32 tanh or sigmoid runs on oneDNN's kernel that reads
    the saved output: the gradient PyTorch's backward kernel gives from that output, NaN and
    the saturated tails included (the outputs themselves differ by a few ulp, which near
    saturation moves 1 - y^2 by far more)."""
    import ember

    x, g = _inputs()
    assert eltwise.kernel_name(f"{'logistic' if op == 'sigmoid' else op}_dst", x) is not None
    ours = ember.tensor(x, requires_grad=True)
    y = getattr(ember, op)(ours)
    y.backward(ember.tensor(g))
    want = getattr(torch.ops.aten, f"{op}_backward")(
        torch.tensor(g), torch.tensor(y.detach().numpy())
    )
    np.testing.assert_allclose(ours.grad.numpy(), want.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("bounds", [(-1.0, 1.0), (0.0, 6.0), (-2.5, 0.5)])
def test_hardtanh_backward_on_onednn_matches_torch(bounds):
    """Hardtanh's gradient on oneDNN's clip: it passes strictly inside the bounds, and is
    zero at them and at NaN, as PyTorch's."""
    import ember

    x, g = _inputs()
    x[SPECIAL.size : SPECIAL.size + 4] = [bounds[0], bounds[1], np.nextafter(bounds[0], 0), 1e9]
    assert eltwise.kernel_name("clip_v2", x) is not None
    ours = ember.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    ember.nn.functional.hardtanh(ours, *bounds).backward(ember.tensor(g))
    torch.nn.functional.hardtanh(theirs, *bounds).backward(torch.tensor(g))
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


@pytest.mark.parametrize(("beta", "threshold"), [(1.0, 20.0), (2.0, 20.0), (0.5, 30.0), (1.0, 5.0)])
def test_softplus_backward_matches_torch(beta, threshold):
    """Softplus's gradient, on oneDNN's soft_relu where the threshold lies beyond the point
    at which sigmoid rounds to 1 (elsewhere ember's formula): PyTorch's, NaN included."""
    import ember

    x, g = _inputs()
    x[SPECIAL.size : SPECIAL.size + 3] = [threshold / beta, 17.5 / beta, 25.0 / beta]
    ours = ember.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    ember.nn.functional.softplus(ours, beta, threshold).backward(ember.tensor(g))
    torch.nn.functional.softplus(theirs, beta, threshold).backward(torch.tensor(g))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_relu_backward_on_onednn_matches_torch():
    """ReLU's gradient from its saved output on oneDNN's kernel: g where the output is
    positive or NaN, else 0, as PyTorch's."""
    import ember

    x, g = _inputs()
    assert eltwise.kernel_name("relu_dst", x) is not None
    ours = ember.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    ember.relu(ours).backward(ember.tensor(g))
    torch.relu(theirs).backward(torch.tensor(g))
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


@pytest.mark.parametrize("n", [7, 1000])
def test_relu_backward_off_onednn_passes_nan_as_torch(n):
    """Arrays oneDNN does not take, in and out of a recorded backward."""
    import ember

    x = np.resize(SPECIAL, n)
    g = np.arange(1, n + 1, dtype=np.float32)
    theirs = torch.tensor(x, requires_grad=True)
    torch.relu(theirs).backward(torch.tensor(g))
    for create_graph in (False, True):
        ours = ember.tensor(x, requires_grad=True)
        (grad,) = ember.autograd.grad(
            ember.relu(ours), ours, ember.tensor(g), create_graph=create_graph
        )
        np.testing.assert_array_equal(grad.detach().numpy(), theirs.grad.numpy())
