"""ember.fft against torch.fft: values, dtypes and shapes for n / s / dim / norm, gradients
for a random upstream gradient, float64 gradcheck, frequencies, shifts and errors."""

import numpy as np
import pytest
import torch

import ember

RNG = np.random.default_rng(0)
NORMS = [None, "backward", "ortho", "forward"]


def _array(shape, complex_values, dtype="float64"):
    a = RNG.standard_normal(shape)
    if complex_values:
        a = a + 1j * RNG.standard_normal(shape)
        return a.astype(np.complex64 if dtype == "float32" else np.complex128)
    return a.astype(dtype)


def _name(t):
    return str(t.dtype).split(".")[-1]


def _compare(fn_name, array, rtol=1e-9, atol=1e-10, **kwargs):
    """Forward and input gradient of ember.fft.<fn_name> and torch.fft.<fn_name>."""
    results = []
    upstream = None
    for lib in (torch, ember):
        x = lib.tensor(array.copy(), requires_grad=array.dtype.kind in "fc")
        y = getattr(lib.fft, fn_name)(x, **kwargs)
        if upstream is None:
            shape = tuple(y.shape)
            upstream = _array(shape, y.is_complex(), "float64").astype(
                np.asarray(y.detach().resolve_conj().numpy()).dtype
            )
        if x.requires_grad:
            y.backward(lib.tensor(upstream))
        grad = None if x.grad is None else x.grad.resolve_conj().numpy()
        results.append((y.detach().resolve_conj().numpy(), _name(y), grad))
    (ty, tname, tg), (ey, ename, eg) = results
    assert ename == tname
    assert ey.shape == ty.shape
    np.testing.assert_allclose(ey, ty, rtol=rtol, atol=atol)
    if tg is not None:
        assert eg.dtype == tg.dtype
        np.testing.assert_allclose(eg, tg, rtol=rtol, atol=atol)


ONE_DIM = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]
REAL_ONLY = {"rfft", "ihfft", "rfft2", "ihfft2", "rfftn", "ihfftn"}


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("n", [None, 5, 8, 13])
@pytest.mark.parametrize("name", ONE_DIM)
def test_one_dim_transforms_match_torch(name, n, norm):
    for complex_values in (False,) if name in REAL_ONLY else (False, True):
        _compare(name, _array((3, 8), complex_values), n=n, dim=-1, norm=norm)
        _compare(name, _array((7, 2), complex_values), n=n, dim=0, norm=norm)


MULTI_DIM = ["fft2", "ifft2", "rfft2", "irfft2", "hfft2", "ihfft2", "fftn", "ifftn", "rfftn",
             "irfftn", "hfftn", "ihfftn"]  # fmt: skip


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("s", [None, (4, 6), (5, 3)])
@pytest.mark.parametrize("name", MULTI_DIM)
def test_multi_dim_transforms_match_torch(name, s, norm):
    for complex_values in (False,) if name in REAL_ONLY else (False, True):
        _compare(name, _array((2, 5, 6), complex_values), s=s, norm=norm)


@pytest.mark.parametrize("name", ["fftn", "rfftn", "irfftn", "ifftn"])
@pytest.mark.parametrize("s,dim", [(None, (0, 2)), ((3, 7), (2, 0)), ((4,), None), (None, None)])
def test_n_dim_transforms_with_dims_match_torch(name, s, dim):
    for complex_values in (False,) if name in REAL_ONLY else (False, True):
        _compare(name, _array((4, 3, 6), complex_values), s=s, dim=dim)


@pytest.mark.parametrize("name", ONE_DIM + MULTI_DIM)
def test_single_precision_dtypes_match_torch(name):
    for complex_values in (False,) if name in REAL_ONLY else (False, True):
        array = _array((4, 6), complex_values, "float32")
        _compare(name, array, rtol=2e-5, atol=2e-5)


def test_integer_input_is_transformed_as_default_float():
    _compare("fft", np.arange(6))
    _compare("rfft", np.arange(6))


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: ember.fft.fft(x, n=7, norm="ortho"),
        lambda x: ember.fft.rfft(x.real, n=6),
        lambda x: ember.fft.irfft(x, n=9),
        lambda x: ember.fft.irfft(x, n=8, norm="forward"),
        lambda x: ember.fft.hfft(x, n=7),
        lambda x: ember.fft.ihfft(x.imag),
        lambda x: ember.fft.rfft2(x.real, s=(3, 4)),
        lambda x: ember.fft.irfftn(x, s=(2, 6)),
        lambda x: ember.fft.fftshift(ember.fft.ifft2(x)),
    ],
)
def test_gradcheck(fn):
    x = ember.tensor(_array((3, 5), True), requires_grad=True)
    assert ember.autograd.gradcheck(fn, (x,))


def test_double_backward_through_irfft():
    x = ember.tensor(_array((2, 4), True), requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda t: ember.fft.irfft(t, n=6), (x,))


@pytest.mark.parametrize("n", [1, 4, 7])
@pytest.mark.parametrize("d", [1.0, 0.25])
def test_frequencies_match_torch(n, d):
    for fn in ("fftfreq", "rfftfreq"):
        got = getattr(ember.fft, fn)(n, d)
        want = getattr(torch.fft, fn)(n, d)
        assert _name(got) == _name(want)
        np.testing.assert_allclose(got.numpy(), want.numpy())
    got = ember.fft.fftfreq(n, d, dtype=ember.float64)
    assert _name(got) == "float64"


@pytest.mark.parametrize("dim", [None, 0, (0, 1), -1])
def test_shifts_match_torch(dim):
    a = RNG.standard_normal((5, 4))
    for fn in ("fftshift", "ifftshift"):
        got = getattr(ember.fft, fn)(ember.tensor(a), dim=dim).numpy()
        want = getattr(torch.fft, fn)(torch.tensor(a), dim=dim).numpy()
        np.testing.assert_array_equal(got, want)


def test_round_trips():
    a = _array((4, 10), False)
    x = ember.tensor(a)
    np.testing.assert_allclose(ember.fft.irfft(ember.fft.rfft(x), n=10).numpy(), a, atol=1e-12)
    z = ember.tensor(_array((4, 10), True))
    np.testing.assert_allclose(ember.fft.ifftn(ember.fft.fftn(z)).numpy(), z.numpy(), atol=1e-12)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.fft.fft(lib.ones(4), norm="bad"),
        lambda lib: lib.fft.fft(lib.ones(4), n=0),
        lambda lib: lib.fft.rfft(lib.ones(4, dtype=lib.complex64)),
        lambda lib: lib.fft.fft(lib.ones(4, dtype=lib.float16)),
        lambda lib: lib.fft.fftn(lib.ones(4, 4), s=(2, 2), dim=(0,)),
        lambda lib: lib.fft.fft(lib.ones(4), dim=3),
        lambda lib: lib.fft.irfft(lib.ones(1)),
        lambda lib: lib.fft.fftn(lib.ones(4, 4), dim=(0, 0)),
    ],
)
def test_errors_match_torch(call):
    with pytest.raises(Exception) as expected:
        call(torch)
    with pytest.raises(type(expected.value)) as got:
        call(ember)
    assert str(expected.value).split()[0] in str(got.value)


def test_namespace_covers_torch_fft():
    public = {
        n for n in dir(torch.fft) if not n.startswith("_") and callable(getattr(torch.fft, n))
    }
    assert public <= set(dir(ember.fft))
    assert ember.fft.Tensor is ember.Tensor
