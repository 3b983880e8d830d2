"""Large float32 add, subtract, multiply and divide on oneDNN: bit for bit NumPy's results
(special values and subnormals included), what it declines, and the ops through it against
PyTorch."""

import numpy as np
import pytest
import torch

import ember
from ember.backends.onednn import binary, library

pytestmark = pytest.mark.skipif(not library.available(), reason="oneDNN is not installed")

N = binary.MIN_ELEMENTS
FUNCTIONS = [np.add, np.subtract, np.multiply, np.true_divide]
SPECIAL = np.array(
    [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1e-39, 3e38, -3e38, 1.0, -2.5],
    np.float32,
)


def _operands():
    rng = np.random.default_rng(0)
    a = rng.standard_normal(N).astype(np.float32)
    b = rng.standard_normal(N).astype(np.float32)
    # every pair of special values, and subnormal results from normal operands
    a[: SPECIAL.size**2] = np.repeat(SPECIAL, SPECIAL.size)
    b[: SPECIAL.size**2] = np.tile(SPECIAL, SPECIAL.size)
    a[200:300] = 1e-20
    b[200:300] = 1e-19
    return a.reshape(1024, -1), b.reshape(1024, -1)


def _same_bits(got, expected):
    assert got.dtype == expected.dtype and got.shape == expected.shape
    nan = np.isnan(expected)
    np.testing.assert_array_equal(np.isnan(got), nan)
    np.testing.assert_array_equal(got[~nan].view(np.int32), expected[~nan].view(np.int32))


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.__name__)
def test_arrays_give_numpys_bits(fn):
    a, b = _operands()
    with np.errstate(all="ignore"):
        expected = fn(a, b)
    got = binary.compute(fn, a, b)
    assert got is not None, "oneDNN should take two large float32 arrays"
    _same_bits(got, expected)


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("number", [0.1, -3, 1e-40, float("inf"), 1 << 24])
def test_a_python_number_gives_numpys_bits(fn, number):
    a, _ = _operands()
    with np.errstate(all="ignore"):
        expected = fn(a, number)
    got = binary.compute(fn, a, number)
    assert got is not None
    _same_bits(got, expected)


@pytest.mark.parametrize(
    "a, b",
    [
        (np.ones(N // 2, np.float32), np.ones(N // 2, np.float32)),  # small
        (np.ones(N), np.ones(N)),  # float64
        (np.ones((1024, N // 1024), np.float32), np.ones(N // 1024, np.float32)),  # broadcast
        (np.ones((N // 512, 1024), np.float32)[:, ::2], np.ones((N // 512, 512), np.float32)),
        (np.ones(N, np.float32), 1 << 30),  # an int float32 cannot hold exactly
        (np.ones(N, np.float32), np.ones(N, np.int32)),
    ],
    ids=["small", "float64", "broadcast", "strided", "large int", "int32"],
)
def test_declines_what_it_does_not_take(a, b):
    assert binary.compute(np.add, a, b) is None


def test_declines_on_one_thread():
    a, b = _operands()
    threads = ember.get_num_threads()
    ember.set_num_threads(1)
    try:
        assert binary.compute(np.add, a, b) is None
    finally:
        ember.set_num_threads(threads)


def test_ops_and_gradients_match_torch():
    a, b = _operands()
    a, b = np.abs(np.nan_to_num(a)) + 1, np.nan_to_num(b)  # finite gradients
    ea, eb = (ember.tensor(x, requires_grad=True) for x in (a, b))
    ta, tb = (torch.tensor(x, requires_grad=True) for x in (a, b))
    outs = []
    for x, y in ((ea, eb), (ta, tb)):
        out = (x + y) * (x - y) / x * 0.5 - 2
        out.sum().backward()
        outs.append(out.detach().numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ea.grad.numpy(), ta.grad.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(eb.grad.numpy(), tb.grad.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("fn", [np.add, np.subtract], ids=lambda f: f.__name__)
@pytest.mark.parametrize("scale", [-0.01, np.float32(0.9), 3e-39, -(1 << 20)])
def test_a_scaled_operand_gives_numpys_bits(fn, scale):
    """fn(a, b * scale): the product rounded to float32 before the add, as NumPy's two
    calls make it, never a fused multiply-add; into a new array and in place."""
    a, b = _operands()
    with np.errstate(all="ignore"):
        expected = fn(a, b * np.float32(scale))
        got = binary.compute(fn, a, b, scale=scale)
        assert got is not None, "oneDNN should take a scaled update of this size"
        _same_bits(got, expected)
        in_place = a.copy()
        assert binary.compute(fn, in_place, b, out=in_place, scale=scale) is in_place
    _same_bits(in_place, expected)


def test_scaled_updates_start_at_their_own_size():
    small = np.ones(binary.MIN_SCALED_ELEMENTS // 2, np.float32)
    assert binary.compute(np.add, small, small, scale=0.5) is None
    large = np.ones(binary.MIN_SCALED_ELEMENTS, np.float32)
    assert binary.compute(np.add, large, large, scale=0.5) is not None


def test_declines_an_operand_overlapping_the_output_elsewhere():
    buffer = np.ones(N + 64, np.float32)
    x, shifted = buffer[:N], buffer[64:]
    assert binary.compute(np.add, x, shifted, out=x, scale=2.0) is None
    assert binary.compute(np.add, x, x, out=x, scale=2.0) is x  # the same elements: fine


def test_foreach_updates_of_large_tensors_match_numpy():
    """An SGD step's updates of large tensors (taken by oneDNN) and of small ones (NumPy):
    the same bits as NumPy's formulas."""
    rng = np.random.default_rng(1)
    shapes = [(N // 256, 256), (300,)]
    p = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    g = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    buf = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    params, grads, bufs = ([ember.tensor(x) for x in xs] for xs in (p, g, buf))
    decayed = ember._foreach_add(grads, params, alpha=5e-4)
    ember._foreach_mul_(bufs, 0.9)
    ember._foreach_add_(bufs, decayed, alpha=0.75)
    ember._foreach_add_(params, bufs, alpha=-0.01)
    for i in range(len(shapes)):
        f32 = np.float32
        d = g[i] + p[i] * f32(5e-4)
        b = buf[i] * f32(0.9) + d * f32(0.75)
        _same_bits(decayed[i].numpy(), d)
        _same_bits(bufs[i].numpy(), b)
        _same_bits(params[i].numpy(), p[i] + b * f32(-0.01))


@pytest.mark.parametrize("alpha", [1, 0.75])
def test_momentum_update_in_one_pass_gives_mul_then_adds_bits(alpha):
    """SGD's buffer update b * momentum + g * (1 - dampening): the one-pass form for large
    tensors and the two list ops for small ones give what mul_ then add_ give."""
    from ember.optim import _foreach

    rng = np.random.default_rng(2)
    shapes = [(binary.MIN_SCALED_ELEMENTS,), (binary.MIN_SCALED_ELEMENTS // 4,), (7, 3)]
    b = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    g = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    got = [ember.tensor(x) for x in b]
    expected = [ember.tensor(x) for x in b]
    grads = [ember.tensor(x) for x in g]
    versions = [t._version for t in got]
    with ember.no_grad():
        _foreach.scale_add_(got, 0.9, grads, alpha)
        ember._foreach_mul_(expected, 0.9)
        ember._foreach_add_(expected, grads, alpha=alpha)
    assert got[0]._data.size >= binary.MIN_SCALED_ELEMENTS
    assert binary.compute(np.add, b[0], g[0], scale=alpha, first_scale=0.9) is not None
    for t, e, v in zip(got, expected, versions):
        _same_bits(t.numpy(), e.numpy())
        assert t._version > v
