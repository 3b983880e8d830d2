"""``out=``: a result is written into ``out`` only where PyTorch's casting rule allows it (no
float to integral, complex to real or non-bool to bool), an ``out`` of another shape is resized
with PyTorch's warning unless it was empty, and ``out=`` refuses inputs that need a gradient.
Every expectation is what torch does with the same call."""

import warnings

import numpy as np
import pytest
import torch

import ember

DTYPES = ["float32", "float64", "float16", "int64", "int32", "uint8", "bool", "complex64"]

# Ops that follow PyTorch's general rule (compute in the promoted dtype, then cast to out's).
OPS = {
    "add": lambda m, a, o: m.add(a, a, out=o),
    "mul": lambda m, a, o: m.mul(a, a, out=o),
    "sub_float_scalar": lambda m, a, o: m.sub(a, 1.5, out=o),
    "div": lambda m, a, o: m.div(a, a, out=o),
    "exp": lambda m, a, o: m.exp(a, out=o),
    "sin": lambda m, a, o: m.sin(a, out=o),
    "sqrt": lambda m, a, o: m.sqrt(a, out=o),
    "sigmoid": lambda m, a, o: m.sigmoid(a, out=o),
    "pow": lambda m, a, o: m.pow(a, 2, out=o),
    "maximum": lambda m, a, o: m.maximum(a, a, out=o),
    "gt": lambda m, a, o: m.gt(a, a, out=o),
    "eq_scalar": lambda m, a, o: m.eq(a, 2, out=o),
    "logical_and": lambda m, a, o: m.logical_and(a, a, out=o),
}
# Complex inputs where torch has no kernel, or casts them internally with a warning first.
SKIP = {("sigmoid", "complex64"), ("maximum", "complex64"), ("gt", "complex64"),
        ("eq_scalar", "complex64"), ("logical_and", "complex64")}  # fmt: skip


def _run(m, op, in_dtype, out_dtype):
    a = m.tensor(np.array([1, 2, 3]).astype(np.dtype(in_dtype)))
    out = m.zeros(3, dtype=getattr(m, out_dtype))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            OPS[op](m, a, out)
    except Exception as e:  # noqa: BLE001 - compared with what torch raises
        return type(e), str(e)
    return out.tolist()


@pytest.mark.parametrize("op", sorted(OPS))
@pytest.mark.parametrize("in_dtype", ["float32", "float64", "int64", "bool", "complex64"])
def test_out_dtype_rule_matches_torch(op, in_dtype):
    if (op, in_dtype) in SKIP:
        pytest.skip("torch has no kernel or warns before checking")
    for out_dtype in DTYPES:
        want = _run(torch, op, in_dtype, out_dtype)
        got = _run(ember, op, in_dtype, out_dtype)
        if isinstance(want, tuple):
            assert isinstance(got, tuple), (op, in_dtype, out_dtype, got)
            assert got[0] is want[0], (op, in_dtype, out_dtype, got, want)
            if "can't be cast" in want[1]:
                assert got[1] == want[1]
        else:
            assert not isinstance(got, tuple), (op, in_dtype, out_dtype, got)
            np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-3)


@pytest.mark.parametrize("from_", DTYPES + ["bfloat16", "int8", "int16", "complex128"])
def test_can_cast_matches_torch(from_):
    for to in DTYPES + ["bfloat16", "int8", "int16", "complex128"]:
        assert ember.can_cast(getattr(ember, from_), getattr(ember, to)) == torch.can_cast(
            getattr(torch, from_), getattr(torch, to)
        ), (from_, to)


def test_float_result_into_integer_out_raises_and_leaves_out_alone():
    out = ember.full((3,), 7, dtype=ember.int64)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "):
        ember.add(ember.ones(3), 0.5, out=out)
    assert out.tolist() == [7, 7, 7]


def _resize(m, out):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m.add(m.ones(2, 3), 1, out=out)
    return [str(w.message) for w in caught if w.category is UserWarning], list(out.shape)


@pytest.mark.parametrize("shape", [(4,), (0,), (3, 2), (2, 3)])
def test_resizing_out_warns_as_torch_does(shape):
    e_warnings, e_shape = _resize(ember, ember.zeros(shape))
    t_warnings, t_shape = _resize(torch, torch.zeros(shape))
    assert e_shape == t_shape
    assert len(e_warnings) == len(t_warnings)
    for e, t in zip(e_warnings, t_warnings):
        assert e.split(". This")[0] == t.split(". This")[0]
        assert "resize_(0)" in e


def test_out_on_meta_is_resized_on_meta():
    out = ember.empty(0, device="meta")
    r = ember.add(ember.empty(2, 3, device="meta"), 1, out=out)
    assert r is out and out.is_meta and tuple(out.shape) == (2, 3)


@pytest.mark.parametrize("lib", [torch, ember])
def test_out_refuses_inputs_that_need_a_gradient(lib):
    x = lib.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"add\(\): functions with out=\.\.\. arguments don't"):
        lib.add(x, 1, out=lib.zeros(3))
    with lib.no_grad():
        assert lib.add(x, 1, out=lib.zeros(3)).tolist() == [2.0, 2.0, 2.0]


FACTORIES = {
    "zeros": lambda m, o: m.zeros(3, out=o),
    "ones": lambda m, o: m.ones(3, out=o),
    "full_int": lambda m, o: m.full((3,), 2, out=o),
    "full_float": lambda m, o: m.full((3,), 2.5, out=o),
    "arange": lambda m, o: m.arange(3, out=o),
    "linspace": lambda m, o: m.linspace(0, 2, 3, out=o),
    "eye": lambda m, o: m.eye(3, out=o),
    "rand": lambda m, o: m.rand(3, out=o),
    "randn": lambda m, o: m.randn(3, out=o),
    "normal": lambda m, o: m.normal(0.0, 1.0, (3,), out=o),
    "randint": lambda m, o: m.randint(0, 2, (3,), out=o),
    "randperm": lambda m, o: m.randperm(3, out=o),
}
RANDOM = {"rand", "randn", "normal", "randint", "randperm"}


def _fill(m, name, out_dtype):
    out = m.zeros((3, 3) if name == "eye" else (3,), dtype=getattr(m, out_dtype))
    try:
        r = FACTORIES[name](m, out)
    except RuntimeError as e:  # NotImplementedError included
        return type(e)
    assert r is out
    return str(out.dtype).split(".")[-1], None if name in RANDOM else out.tolist()


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_factories_fill_out_in_its_dtype_as_torch(name):
    """A factory given ``out=`` makes its values in ``out``'s dtype (float samples refuse
    integral ones) instead of casting a default-dtype result."""
    for out_dtype in DTYPES:
        want, got = _fill(torch, name, out_dtype), _fill(ember, name, out_dtype)
        if isinstance(want, type):
            assert isinstance(got, type) and issubclass(got, RuntimeError), (name, out_dtype)
        else:
            assert got == want, (name, out_dtype)


@pytest.mark.parametrize("lib", [torch, ember])
def test_factory_dtype_must_match_out(lib):
    with pytest.raises(RuntimeError, match=r"dtype Float does not match dtype of out parameter"):
        lib.zeros(3, dtype=lib.float32, out=lib.zeros(3, dtype=lib.int64))


SAMPLES_OF_DTYPE = {
    "rand": lambda m, dtype: m.rand(3, dtype=dtype),
    "randn": lambda m, dtype: m.randn(3, dtype=dtype),
    "normal": lambda m, dtype: m.normal(0.0, 1.0, (3,), dtype=dtype),
}


@pytest.mark.parametrize("name", sorted(SAMPLES_OF_DTYPE))
@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_float_samples_refuse_integral_dtypes(name, dtype):
    for m in (torch, ember):
        with pytest.raises(NotImplementedError):
            SAMPLES_OF_DTYPE[name](m, getattr(m, dtype))
        with pytest.raises(NotImplementedError):
            FACTORIES[name](m, m.zeros(3, dtype=getattr(m, dtype)))
