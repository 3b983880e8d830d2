"""Fused elementwise chains: compiled results and gradients against real PyTorch (float32)
and against ember eager (float64, to 1e-12), and the eager replay for operands a fused
kernel does not take."""

import math

import numpy as np
import pytest
import torch

import ember
from ember._compile.kernel import FusedKernel
from ember.backends.onednn import library as onednn_library


def new_gelu(lib):
    def fn(x):
        return 0.5 * x * (1.0 + lib.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))

    return fn


def bias_gelu(lib, approximate):
    def fn(x, b):
        return lib.nn.functional.gelu(x + b, approximate=approximate)

    return fn


def mixed(lib):
    def fn(x, b):
        y = x * b - 1.5
        z = lib.where(y > 0, lib.sigmoid(y), lib.exp(y) / 3.0)
        return lib.nn.functional.silu(z) + lib.relu(-y) * y**2 + lib.sqrt(y * y + 1) ** -1

    return fn


def powers(lib):
    def fn(x):
        a = x.abs() + 0.5
        return a**2 + a**3 + a**0.5 + a**-1 + a**-2 + a**1.5 + a**0 + lib.log(a) - lib.erf(x)

    return fn


def unary(lib):
    def fn(x):
        return lib.sin(x) * lib.cos(x) - lib.tanh(x).neg() + lib.rsqrt(x * x + 2)

    return fn


CHAINS = {
    "new_gelu": (new_gelu, [(32, 64, 512)]),
    "bias_gelu_erf": (lambda lib: bias_gelu(lib, "none"), [(8, 16, 64), (64,)]),
    "bias_gelu_tanh": (lambda lib: bias_gelu(lib, "tanh"), [(8, 16, 64), (64,)]),
    "mixed": (mixed, [(4, 1, 7), (5, 1)]),
    "powers": (powers, [(6, 9)]),
    "unary": (unary, [(300, 257)]),
}


def _arrays(shapes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def _fused_kernels(compiled_fn):
    """The FusedKernel calls in the compiled graphs of a compiled function."""
    graphs = compiled_fn._ember_compiled.cache.values()
    return [
        n.target for g in graphs for n in g.graph.graph.nodes if isinstance(n.target, FusedKernel)
    ]


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_chain_matches_torch_float32(name):
    make, shapes = CHAINS[name]
    arrays = _arrays(shapes, np.float32)
    ours = [ember.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    compiled = ember.compile(make(ember))
    compiled(*ours)  # the first call captures and runs unfused
    out = compiled(*ours)
    assert len(_fused_kernels(compiled)) == 1
    assert out.grad_fn is not None and type(out.grad_fn).__name__ == "FusedFunction"
    expected = make(torch)(*theirs)
    np.testing.assert_allclose(
        out.detach().numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-5
    )
    grad = _arrays([tuple(out.shape)], np.float32, seed=1)[0]
    out.backward(ember.tensor(grad))
    expected.backward(torch.tensor(grad))
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_chain_matches_eager_float64(name):
    make, shapes = CHAINS[name]
    arrays = _arrays(shapes, np.float64)
    ours = [ember.tensor(a, requires_grad=True) for a in arrays]
    eager = [ember.tensor(a, requires_grad=True) for a in arrays]
    compiled = ember.compile(make(ember))
    compiled(*ours)
    out = compiled(*ours)
    assert out.dtype == ember.float64
    expected = make(ember)(*eager)
    np.testing.assert_allclose(
        out.detach().numpy(), expected.detach().numpy(), rtol=1e-12, atol=1e-12
    )
    out.sum().backward()
    expected.sum().backward()
    for o, e in zip(ours, eager):
        np.testing.assert_allclose(o.grad.numpy(), e.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_gradients_match_finite_differences():
    x = ember.tensor(_arrays([(3, 4)], np.float64)[0], requires_grad=True)
    b = ember.tensor(_arrays([(4,)], np.float64, seed=2)[0], requires_grad=True)
    compiled = ember.compile(mixed(ember))
    compiled(x, b)
    assert ember.autograd.gradcheck(compiled, (x, b))


def test_only_needed_gradients_are_computed():
    x, b = (ember.tensor(a) for a in _arrays([(4, 5), (5,)], np.float32))
    x.requires_grad_(True)
    compiled = ember.compile(bias_gelu(ember, "tanh"))
    compiled(x, b)
    compiled(x, b).sum().backward()
    assert x.grad is not None and b.grad is None


def test_integer_and_mixed_dtype_operands_replay_eagerly():
    fn = new_gelu(ember)
    compiled = ember.compile(lambda x, y: fn(x) * y + y)
    x = ember.arange(6).reshape(2, 3)
    for y in (ember.ones(3, dtype=ember.float64), ember.ones(3, dtype=ember.int64)):
        for xi in (x, x.float()):
            compiled(xi, y)
            result = compiled(xi, y)
            expected = fn(xi) * y + y
            assert result.dtype == expected.dtype
            np.testing.assert_allclose(result.numpy(), expected.numpy(), rtol=1e-6)


def test_no_grad_forward_records_nothing():
    x = ember.randn(4, 4, requires_grad=True)
    compiled = ember.compile(new_gelu(ember))
    compiled(x)
    with ember.no_grad():
        out = compiled(x)
    assert out.grad_fn is None and not out.requires_grad


def test_double_backward_through_fused_kernel_raises():
    x = ember.randn(3, requires_grad=True)
    compiled = ember.compile(new_gelu(ember))
    compiled(x)
    (g,) = ember.autograd.grad(compiled(x).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError):  # never a silent zero second derivative
        ember.autograd.grad(g.sum(), x)


@pytest.mark.parametrize("shape", [(), (0, 3), (1,), (2, 1, 3)])
def test_bool_results_and_edge_shapes_match_torch(shape):
    def fn(lib):
        return lambda x: ((x * 2 - 1) > 0, lib.where(x > 0.5, x * 3, -x) + 1)

    array = _arrays([shape], np.float32)[0]
    compiled = ember.compile(fn(ember))
    x = ember.tensor(array, requires_grad=True)
    compiled(x)
    mask, value = compiled(x)
    t = torch.tensor(array, requires_grad=True)
    t_mask, t_value = fn(torch)(t)
    assert mask.dtype == ember.bool and not mask.requires_grad
    np.testing.assert_array_equal(mask.numpy(), t_mask.numpy())
    np.testing.assert_allclose(value.detach().numpy(), t_value.detach().numpy(), rtol=1e-6)
    value.sum().backward()
    t_value.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())


@pytest.mark.skipif(not onednn_library.available(), reason="oneDNN is not installed")
def test_large_float32_exact_gelu_chain_runs_its_eager_calls():
    """Eagerly, exact GELU of a large float32 array is one oneDNN pass, faster than the fused
    NumPy kernel: the compiled chain runs the eager calls there, with the same results."""
    x, b = _arrays([(32, 64, 512), (512,)], np.float32)
    compiled = ember.compile(bias_gelu(ember, "none"))
    ours = [ember.tensor(a, requires_grad=True) for a in (x, b)]
    compiled(*ours)
    out = compiled(*ours)
    assert len(_fused_kernels(compiled)) == 1  # the chain was fused at compile time
    assert type(out.grad_fn).__name__ != "FusedFunction"
    expected = bias_gelu(ember, "none")(*(ember.tensor(a) for a in (x, b)))
    np.testing.assert_array_equal(out.detach().numpy(), expected.numpy())
