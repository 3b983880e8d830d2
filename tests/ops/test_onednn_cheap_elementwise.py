"""abs, square, reciprocal, rsqrt, the fast powers and relu of large float32 tensors on
oneDNN's kernels: PyTorch's results bit for bit, special values included."""

import numpy as np
import pytest
import torch

import ember
from ember.backends.onednn import binary, eltwise, library
from ember.backends.onednn import relu as onednn_relu

pytestmark = pytest.mark.skipif(not library.available(), reason="oneDNN is not installed")

SPECIAL = np.array(
    [np.inf, -np.inf, np.nan, -np.nan, 0.0, -0.0, 1e-45, -1e-45, 1e-39, -1e-39, 3e38, -3e38],
    np.float32,
)
LARGE = (1 << 19) + (1 << 18) + 5  # above every threshold involved, not a multiple of a block


def _input(n=LARGE, positive=False):
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 3).astype(np.float32)
    if positive:
        x = np.abs(x) + np.float32(0.01)
    x[: SPECIAL.size] = SPECIAL
    return x.reshape(-1, 1)  # 2-d: a tensor, not only a flat array


def _assert_same_bits(ours, expected):
    ours, expected = np.asarray(ours), np.asarray(expected)
    both_nan = np.isnan(ours) & np.isnan(expected)
    differ = (ours.view(np.int32) != expected.view(np.int32)) & ~both_nan
    assert not differ.any(), list(zip(ours[differ][:5], expected[differ][:5]))


UNARY = {
    "abs": (lambda lib, t: lib.abs(t), "abs"),
    "square": (lambda lib, t: lib.square(t), "square"),
    "reciprocal": (lambda lib, t: lib.reciprocal(t), "reciprocal"),
    "rsqrt": (lambda lib, t: lib.rsqrt(t), "sqrt"),
    "pow 2": (lambda lib, t: t**2, "square"),
    "pow -1": (lambda lib, t: t**-1, "reciprocal"),
    "pow 0.5": (lambda lib, t: t**0.5, "sqrt"),
    "pow -0.5": (lambda lib, t: t**-0.5, "sqrt"),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_matches_torch_bit_for_bit_on_onednn(name, count_calls):
    fn, kernel = UNARY[name]
    calls = count_calls(eltwise, "forward")
    x = _input()
    ours = fn(ember, ember.tensor(x)).numpy()
    assert any(calls), f"{name} did not run oneDNN's {kernel}"
    if name == "pow 0.5":  # the correctly rounded root; PyTorch's is up to an ulp off it here
        expected = np.sqrt(x)
    else:
        expected = fn(torch, torch.tensor(x)).numpy()
    _assert_same_bits(ours, expected)


@pytest.mark.parametrize("name", ["abs", "square"])
def test_cheap_functions_stay_on_numpy_below_their_threshold(name, count_calls):
    calls = count_calls(eltwise, "forward")
    x = _input(eltwise.MIN_CHEAP_ELEMENTS[name] - 1)
    ours = UNARY[name][0](ember, ember.tensor(x)).numpy()
    assert not any(calls)
    _assert_same_bits(ours, UNARY[name][0](torch, torch.tensor(x)).numpy())


def test_cube_is_one_onednn_pass_with_pytorchs_bits(count_calls):
    calls = count_calls(binary, "cube")
    x = _input()
    ours = (ember.tensor(x) ** 3).numpy()
    assert calls == [True]
    _assert_same_bits(ours, (torch.tensor(x) ** 3).numpy())


def test_cube_declines_what_it_does_not_take():
    x = _input().ravel()
    assert binary.cube(x[::2]) is None  # strided
    assert binary.cube(x.astype(np.float64)) is None
    assert binary.cube(x[: binary.MIN_CUBE_ELEMENTS - 1]) is None


@pytest.mark.parametrize("n", [onednn_relu.MIN_ELEMENTS, LARGE, 3 * (1 << 20) + 77])
def test_relu_keeps_nan_and_negative_zero_as_pytorch(n, count_calls):
    """oneDNN's own relu gives 0 for NaN and -0.0; the maximum with x after it does not."""
    calls = count_calls(onednn_relu, "relu")
    x = _input(n)
    ours = ember.nn.functional.relu(ember.tensor(x)).numpy()
    assert calls == [True]
    _assert_same_bits(ours, torch.relu(torch.tensor(x)).numpy())


def test_relu_on_one_thread_takes_numpy_with_the_same_bits(count_calls):
    calls = count_calls(onednn_relu, "relu")
    x = _input()
    before = ember.get_num_threads()
    ember.set_num_threads(1)
    try:
        ours = ember.nn.functional.relu(ember.tensor(x)).numpy()
    finally:
        ember.set_num_threads(before)
    assert calls == [False]
    _assert_same_bits(ours, torch.relu(torch.tensor(x)).numpy())


@pytest.mark.parametrize("name", ["abs", "square", "reciprocal", "rsqrt", "relu", "cube"])
def test_gradients_match_torch(name):
    fns = {
        "abs": lambda lib, t: t.abs(),
        "square": lambda lib, t: t.square(),
        "reciprocal": lambda lib, t: t.reciprocal(),
        "rsqrt": lambda lib, t: t.rsqrt(),
        "relu": lambda lib, t: lib.relu(t),
        "cube": lambda lib, t: t**3,
    }
    x = _input(positive=name in ("reciprocal", "rsqrt"))[SPECIAL.size :]  # finite gradients
    g = np.random.default_rng(1).standard_normal(x.shape).astype(np.float32)
    grads = []
    for lib in (ember, torch):
        t = lib.tensor(x, requires_grad=True)
        fns[name](lib, t).backward(lib.tensor(g))
        grads.append(t.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6, atol=0)


def test_square_backward_is_onednns_with_pytorchs_bits(count_calls):
    calls = count_calls(eltwise, "backward")
    x = _input()
    g = np.random.default_rng(2).standard_normal(x.shape).astype(np.float32)
    t = ember.tensor(x, requires_grad=True)
    t.square().backward(ember.tensor(g))
    assert calls == [True]
    expected = torch.tensor(x, requires_grad=True)
    expected.square().backward(torch.tensor(g))
    _assert_same_bits(t.grad.numpy(), expected.grad.numpy())
