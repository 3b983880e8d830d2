"""Complex tensors against PyTorch: dtypes and promotion, printing, views of parts, the
elementwise and reduction ops, gradients with PyTorch's convention, gradcheck, and errors."""

import warnings

import numpy as np
import pytest
import torch

import ember

RNG = np.random.default_rng(0)


def _complex(shape, dtype=np.complex128):
    return (RNG.standard_normal(shape) + 1j * RNG.standard_normal(shape)).astype(dtype)


def _dtype_name(t):
    return str(t.dtype).split(".")[-1]


def _both(fn, *arrays, upstream=None, grad=True):
    """Run ``fn`` in both libraries on the same arrays; compare values, dtypes and the input
    gradients for one upstream gradient (complex where the output is)."""
    results = []
    for lib in (torch, ember):
        inputs = [lib.tensor(a.copy(), requires_grad=grad) for a in arrays]
        out = fn(lib, *inputs)
        if grad:
            g = upstream
            if g is None:
                g = _complex(out.shape) if out.is_complex() else RNG.standard_normal(out.shape)
                upstream = g
            out.backward(lib.tensor(g.astype(np.asarray(out.detach().numpy()).dtype)))
        results.append((out, [t.grad for t in inputs] if grad else []))
    (t_out, t_grads), (e_out, e_grads) = results
    assert _dtype_name(e_out) == _dtype_name(t_out)
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().resolve_conj().numpy(),
                               rtol=1e-10, atol=1e-12)  # fmt: skip
    for eg, tg in zip(e_grads, t_grads):
        assert _dtype_name(eg) == _dtype_name(tg)
        np.testing.assert_allclose(eg.numpy(), tg.resolve_conj().numpy(), rtol=1e-9, atol=1e-12)


PROMOTIONS = [
    ("float32", "complex64"), ("float64", "complex64"), ("float32", "complex128"),
    ("int64", "complex64"), ("float16", "complex128"), ("complex64", "complex128"),
]  # fmt: skip


@pytest.mark.parametrize("a,b", PROMOTIONS)
def test_promote_types_matches_torch(a, b):
    for x, y in ((a, b), (b, a)):
        expected = torch.promote_types(getattr(torch, x), getattr(torch, y))
        assert (
            ember.promote_types(getattr(ember, x), getattr(ember, y)).name
            == str(expected).split(".")[-1]
        )


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.ones(2) * 1j,
        lambda lib: lib.ones(2, dtype=lib.float64) * 1j,
        lambda lib: lib.ones(2, dtype=lib.int64) * 1j,
        lambda lib: lib.ones(2, dtype=lib.bfloat16) * 1j,
        lambda lib: lib.ones(2) + lib.tensor(1j, dtype=lib.complex128),
        lambda lib: lib.ones(2, dtype=lib.int64) + lib.tensor(1j, dtype=lib.complex128),
        lambda lib: lib.ones(2, dtype=lib.complex64) + lib.tensor(1.0, dtype=lib.float64),
        lambda lib: lib.ones(2, dtype=lib.float64) + lib.ones(2, dtype=lib.complex64),
        lambda lib: lib.tensor([1 + 2j, 3]),
        lambda lib: lib.tensor([1.0, 2.0]).to(lib.complex64),
        lambda lib: lib.tensor([1.0, 2.0], dtype=lib.cdouble),
    ],
)
def test_result_dtypes_match_torch(make):
    assert _dtype_name(make(ember)) == _dtype_name(make(torch))


def test_dtype_properties_match_torch():
    for name in ("complex64", "complex128", "float32", "float64"):
        e, t = getattr(ember, name), getattr(torch, name)
        assert e.is_complex == t.is_complex
        assert e.to_real().name == str(t.to_real()).split(".")[-1]
        assert e.to_complex().name == str(t.to_complex()).split(".")[-1]
    assert ember.cfloat is ember.complex64 and ember.cdouble is ember.complex128
    assert repr(ember.finfo(ember.complex64)) == repr(torch.finfo(torch.complex64))
    assert ember.finfo(ember.complex128).eps == torch.finfo(torch.complex128).eps
    assert ember.is_complex(ember.zeros(1, dtype=ember.complex64))


@pytest.mark.parametrize(
    "values,dtype",
    [
        ([1 + 2j, 3 - 1j], "complex64"),
        ([1.5 + 2j, 3 - 1j], "complex128"),
        ([[1 + 2j, 3 - 1j], [0.001 + 1j, 1000j]], "complex64"),
        (2.5 - 0.25j, "complex64"),
    ],
)
def test_printing_matches_torch(values, dtype):
    e = ember.tensor(values, dtype=getattr(ember, dtype))
    t = torch.tensor(values, dtype=getattr(torch, dtype))
    assert repr(e) == repr(t).replace("torch.", "ember.")


def test_float_of_complex_warns_and_keeps_real_part():
    z = np.array([1 + 2j, -3 + 1j], np.complex64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = ember.tensor(z).float()
    assert caught
    np.testing.assert_array_equal(got.numpy(), torch.tensor(z).float().numpy())


def test_real_and_imag_are_views_that_write_through():
    for lib in (torch, ember):
        z = lib.tensor([1 + 2j, 3 - 1j])
        z.real.mul_(2)
        z.imag[0] = 7
        z.real = lib.tensor([5.0, 6.0])
        assert z.tolist() == [complex(5, 7), complex(6, -1)]
        r = lib.view_as_real(z)
        r[1, 1] = 9
        assert z[1].item() == complex(6, 9)


def test_view_as_complex_views_pairs():
    a = RNG.standard_normal((3, 4, 2))
    results = []
    for lib in (torch, ember):
        x = lib.tensor(a)
        z = lib.view_as_complex(x)
        x[0, 0, 1] = 100.0
        results.append(z.numpy().copy())
        assert z.shape == (3, 4) and _dtype_name(z) == "complex128"
    np.testing.assert_array_equal(results[1], results[0])
    for lib in (torch, ember):
        stepped = lib.view_as_complex(lib.tensor(a)[::2])
        assert tuple(stepped.shape) == (2, 4)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.ones(3).imag,
        lambda lib: lib.view_as_complex(lib.ones(3, 3)),
        lambda lib: lib.view_as_complex(lib.ones(2, 3).t()),
        lambda lib: lib.view_as_complex(lib.ones(3, 2, dtype=lib.int64)),
        lambda lib: lib.view_as_real(lib.ones(3)),
        lambda lib: lib.complex(lib.ones(2), lib.ones(2, dtype=lib.float64)),
        lambda lib: lib.complex(lib.ones(2, dtype=lib.int64), lib.ones(2, dtype=lib.int64)),
    ],
)
def test_errors_match_torch(call):
    with pytest.raises(Exception) as expected:
        call(torch)
    with pytest.raises(type(expected.value)) as got:
        call(ember)
    assert str(got.value).split()[0] == str(expected.value).split()[0]


@pytest.mark.parametrize(
    "call",
    [
        lambda z: z < z,
        lambda z: z > 0,
        lambda z: z.max(),
        lambda z: z.min(),
        lambda z: z.clamp(0, 1),
        lambda z: z.floor(),
        lambda z: z.argmax(),
        lambda z: z.sort(),
        lambda z: z.sort(stable=True),
        lambda z: z.argsort(),
        lambda z: z.msort(),
        lambda z: z.topk(1),
        lambda z: z.kthvalue(1),
        lambda z: z.median(),
        lambda z: z.median(0),
        lambda z: z.nanmedian(),
        lambda z: z.mode(),
        lambda z: z.cummax(0),
        lambda z: z.cummin(0),
        lambda z: z.quantile(0.5),
        lambda z: z.unique(),
        lambda z: z.maximum(z),
        lambda z: z.minimum(z),
        lambda z: z.relu(),
    ],
)
def test_orderings_are_refused_on_complex(call):
    """Each ordering raises PyTorch's error type, never an answer from NumPy's ordering of
    complex numbers."""
    with pytest.raises((RuntimeError, NotImplementedError)) as expected:
        call(torch.tensor([1 + 1j, 2 - 1j]))
    with pytest.raises(type(expected.value)):
        call(ember.tensor([1 + 1j, 2 - 1j]))


UNARY = {
    "abs": lambda lib, z: z.abs(),
    "angle": lambda lib, z: z.angle(),
    "sgn": lambda lib, z: z.sgn(),
    "exp": lambda lib, z: z.exp(),
    "log": lambda lib, z: z.log(),
    "sqrt": lambda lib, z: z.sqrt(),
    "sin": lambda lib, z: z.sin(),
    "tanh": lambda lib, z: z.tanh(),
    "reciprocal": lambda lib, z: z.reciprocal(),
    "neg": lambda lib, z: -z,
    "square": lambda lib, z: z.square(),
    "conj": lambda lib, z: z.conj() * 1,
    "conj_physical": lambda lib, z: lib.conj_physical(z),
    "real": lambda lib, z: z.real * 1,
    "imag": lambda lib, z: z.imag * 1,
    "view_as_real": lambda lib, z: lib.view_as_real(z) * 1,
    "pow_scalar": lambda lib, z: z**3,
    "pow_complex_scalar": lambda lib, z: z ** (0.5 + 1j),
    "sum": lambda lib, z: z.sum(0),
    "mean": lambda lib, z: z.mean(),
    "prod": lambda lib, z: z.prod(1),
    "cat": lambda lib, z: lib.cat([z, z * 2], 0),
    "stack": lambda lib, z: lib.stack([z, z], 1),
    "reshape_index": lambda lib, z: z.reshape(6)[1:4],
    "transpose_H": lambda lib, z: z.mH * 1,
    "mul_by_1j": lambda lib, z: z * 1j,
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_and_gradients_match_torch(name):
    _both(UNARY[name], _complex((2, 3)))


BINARY = {
    "add": lambda lib, a, b: a + b,
    "sub": lambda lib, a, b: a - b,
    "mul": lambda lib, a, b: a * b,
    "div": lambda lib, a, b: a / b,
    "pow": lambda lib, a, b: a**b,
    "matmul": lambda lib, a, b: a @ b.mT,
    "bmm": lambda lib, a, b: lib.bmm(a.unsqueeze(0), b.mT.unsqueeze(0)),
    "einsum": lambda lib, a, b: lib.einsum("ij,kj->ik", a, b),
    "complex": lambda lib, a, b: lib.complex(a.real * 1, b.imag * 1),
    "polar": lambda lib, a, b: lib.polar(a.abs(), b.angle()),
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_values_and_gradients_match_torch(name):
    _both(BINARY[name], _complex((2, 3)), _complex((2, 3)))


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div"])
def test_real_operand_gets_a_real_gradient(name):
    _both(BINARY[name], RNG.standard_normal((2, 3)), _complex((2, 3)))
    _both(BINARY[name], _complex((2, 3)), RNG.standard_normal((2, 3)))


def test_real_loss_gradient_matches_torch():
    """The gradient of a real loss: dL/dx + i dL/dy, for a realistic chain (spectral loss)."""
    a = _complex((4,))

    def loss(lib, z):
        return ((z * z.conj()).real.sqrt() - lib.view_as_real(z).sum(-1)).pow(2).sum()

    _both(loss, a, upstream=np.float64(1.0))


def test_allclose_and_isclose_on_complex():
    a = _complex((5,))
    b = a + 1e-9j
    for lib in (torch, ember):
        assert lib.allclose(lib.tensor(a), lib.tensor(b))
    got = ember.isclose(ember.tensor(a), ember.tensor(a + 1e-3)).numpy()
    want = torch.isclose(torch.tensor(a), torch.tensor(a + 1e-3)).numpy()
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "fn",
    [
        lambda z, w: z * w,
        lambda z, w: z / w,
        lambda z, w: (z**2 + w).exp(),
        lambda z, w: z.log() * w.conj(),
        lambda z, w: ember.view_as_real(z * w).sum(-1),
        lambda z, w: z.abs() + w.angle(),
        lambda z, w: z.sgn() * w,
        lambda z, w: ember.view_as_complex(ember.view_as_real(z) * 2) @ w.mT,
    ],
)
def test_gradcheck_on_complex_inputs(fn):
    z = ember.tensor(_complex((2, 3)), requires_grad=True)
    w = ember.tensor(_complex((2, 3)), requires_grad=True)
    assert ember.autograd.gradcheck(fn, (z, w))


def test_gradcheck_catches_a_missing_conjugate():
    class WrongMul(ember.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            return g * b, g * a  # PyTorch's convention needs conj(b), conj(a)

    z = ember.tensor(_complex((3,)), requires_grad=True)
    w = ember.tensor(_complex((3,)), requires_grad=True)
    assert not ember.autograd.gradcheck(WrongMul.apply, (z, w), raise_exception=False)


def test_conj_flags_agree():
    z = ember.tensor([1 + 2j])
    c = z.conj()
    assert c.resolve_conj().is_conj() is False
    assert c.conj_physical().tolist() == z.tolist()
    assert ember.resolve_conj(c).tolist() == [1 - 2j]
    x = ember.ones(2)
    assert x.conj() is x


def test_rotary_embedding_pattern_matches_torch():
    """The llama-style rotary embedding: polar, view_as_complex of pairs, view_as_real back."""
    q = RNG.standard_normal((2, 5, 3, 8)).astype(np.float32)
    upstream = RNG.standard_normal((2, 5, 3, 8)).astype(np.float32)
    results = []
    for lib in (torch, ember):
        freqs = lib.outer(lib.arange(5).float(), 1.0 / (10000 ** (lib.arange(0, 8, 2).float() / 8)))
        freqs_cis = lib.polar(lib.ones_like(freqs), freqs)
        x = lib.tensor(q, requires_grad=True)
        x_ = lib.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
        out = lib.view_as_real(x_ * freqs_cis.view(1, 5, 1, 4)).flatten(3)
        out.backward(lib.tensor(upstream))
        assert _dtype_name(x_) == "complex64" and _dtype_name(out) == "float32"
        results.append((out.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-5, atol=1e-5)


def test_scalar_conversions():
    z = ember.tensor([2.5 - 1j])
    assert z.item() == complex(2.5, -1) == complex(z)
    assert z.tolist() == [complex(2.5, -1)]
    assert ember.tensor(1 + 1j, dtype=ember.complex128).dtype is ember.complex128


@pytest.mark.parametrize(
    "fn",
    [
        lambda z: z * z,
        lambda z: z.exp() / z,
        lambda z: z.abs(),
        lambda z: z.sgn(),
        lambda z: z.angle(),
        lambda z: ember.view_as_real(z.sqrt()),
    ],
)
def test_gradgradcheck_on_complex_inputs(fn):
    z = ember.tensor(_complex((3,)), requires_grad=True)
    assert ember.autograd.gradgradcheck(fn, (z,))


def test_angle_of_real_tensors_matches_torch():
    values = [-1.5, 0.0, 2.0, float("nan")]
    got = ember.angle(ember.tensor(values)).numpy()
    want = torch.angle(torch.tensor(values)).numpy()
    np.testing.assert_array_equal(got, want)


def test_cast_of_a_real_tensor_to_complex_passes_back_the_real_part_silently():
    grads = []
    for lib in (ember, torch):
        x = lib.tensor([1.0, -2.0, 0.5], requires_grad=True)
        z = x.to(lib.complex64) * lib.tensor([1 + 2j, 3 - 1j, -1j])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            (z.abs() ** 2).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)


def test_python_complex_numbers_take_the_default_float_width():
    for default in ("float32", "float64"):
        dtypes = []
        for lib in (ember, torch):
            lib.set_default_dtype(getattr(lib, default))
            try:
                dtypes.append(str(lib.tensor([1 + 2j, 3.0]).dtype).split(".")[-1])
            finally:
                lib.set_default_dtype(lib.float32)
        assert dtypes[0] == dtypes[1]
