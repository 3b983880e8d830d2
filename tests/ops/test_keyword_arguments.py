"""Keyword arguments real programs pass, taken as PyTorch takes them."""

import numpy as np
import pytest
import torch

import ember

X = np.arange(12, dtype=np.float32).reshape(3, 4) / 12


def _x(lib):
    return lib.tensor(X)


# (name, fn(lib)) with a deterministic result compared against torch
CASES = [
    ("flip_dims", lambda lib: _x(lib).flip(dims=(0,))),
    ("torch_flip_dims", lambda lib: lib.flip(_x(lib), dims=[0, 1])),
    ("reshape_shape", lambda lib: _x(lib).reshape(shape=(4, 3))),
    ("torch_reshape_shape", lambda lib: lib.reshape(_x(lib), shape=(2, -1))),
    ("view_size", lambda lib: _x(lib).view(size=(6, 2))),
    ("view_dtype_keyword", lambda lib: _x(lib).view(dtype=lib.int32)),
    ("view_dtype_narrower", lambda lib: _x(lib).view(lib.int16)),
    ("view_dtype_wider", lambda lib: _x(lib).view(lib.float64)),
    ("view_dtype_bytes", lambda lib: lib.tensor([1, 2, 3, 4], dtype=lib.int8).view(lib.int16)),
    ("permute_dims", lambda lib: _x(lib).permute(dims=(1, 0))),
    ("torch_permute_dims", lambda lib: lib.permute(_x(lib), dims=[1, 0])),
    ("expand_size", lambda lib: _x(lib)[:1].expand(size=(2, 3, 4))),
    ("repeat_repeats", lambda lib: _x(lib).repeat(repeats=(2, 1))),
    ("swapaxes_axis", lambda lib: _x(lib).swapaxes(axis0=0, axis1=1)),
    ("swapdims_dim", lambda lib: lib.swapdims(_x(lib), dim0=1, dim1=0)),
    ("transpose_dims", lambda lib: _x(lib).transpose(dim0=0, dim1=1)),
    ("split_size", lambda lib: _x(lib).split(split_size=2)[1]),
    ("tensor_split_sections", lambda lib: _x(lib).tensor_split(sections=2)[0]),
    ("tensor_split_indices", lambda lib: _x(lib).tensor_split(indices=[1], dim=1)[1]),
    ("concatenate_axis", lambda lib: lib.concatenate([_x(lib), _x(lib)], axis=1)),
    ("logit_eps", lambda lib: lib.logit(lib.tensor([0.0, 0.3, 1.0]), eps=0.1)),
    ("cumsum_dtype", lambda lib: _x(lib).cumsum(dim=1, dtype=lib.float64)),
    ("sum_dim_keepdim", lambda lib: _x(lib).sum(dim=1, keepdim=True)),
    ("max_dim_keepdim", lambda lib: _x(lib).max(dim=0, keepdim=True).values),
    ("zeros_size", lambda lib: lib.zeros(size=(2, 3))),
    ("ones_size", lambda lib: lib.ones(size=[3], dtype=lib.int64)),
    ("full_size", lambda lib: lib.full(size=(2,), fill_value=1.5)),
    ("empty_size_shape", lambda lib: lib.empty(size=(4, 1)).shape),
    ("new_zeros_size", lambda lib: _x(lib).new_zeros(size=(2,))),
    ("zeros_like_dtype", lambda lib: lib.zeros_like(_x(lib), dtype=lib.int32)),
    ("full_like_dtype", lambda lib: lib.full_like(_x(lib), 7, dtype=lib.float64)),
    ("asarray_copy", lambda lib: lib.asarray([1.0, 2.0], dtype=lib.float64, copy=True)),
]


def _np(r):
    if isinstance(r, tuple):
        return np.asarray(r)
    return r.numpy()


@pytest.mark.parametrize("fn", [pytest.param(f, id=n) for n, f in CASES])
def test_keyword_call_matches_torch(fn):
    want, got = fn(torch), fn(ember)
    if not isinstance(want, tuple):
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_array_equal(_np(got), _np(want))


RANDOM = [
    ("rand", lambda lib: lib.rand(size=(2, 3))),
    ("randn", lambda lib: lib.randn(size=(4,), dtype=lib.float64)),
    ("randint", lambda lib: lib.randint(0, 5, size=(3, 2))),
    ("empty", lambda lib: lib.empty(size=(1, 2), dtype=lib.int32)),
    ("randn_like", lambda lib: lib.randn_like(_x(lib), dtype=lib.float64, device="cpu")),
    ("rand_like", lambda lib: lib.rand_like(_x(lib), dtype=lib.float16)),
    ("randint_like", lambda lib: lib.randint_like(_x(lib), 3, dtype=lib.int64)),
    ("empty_like", lambda lib: lib.empty_like(_x(lib), dtype=lib.bool)),
    ("ones_like_requires_grad", lambda lib: lib.ones_like(_x(lib), requires_grad=True)),
    ("randn_like_requires_grad", lambda lib: lib.randn_like(_x(lib), requires_grad=True)),
]


@pytest.mark.parametrize("fn", [pytest.param(f, id=n) for n, f in RANDOM])
def test_random_factory_keywords_give_torch_shape_dtype_and_flags(fn):
    want, got = fn(torch), fn(ember)
    assert tuple(got.shape) == tuple(want.shape)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    assert got.requires_grad == want.requires_grad


def test_size_given_twice_is_a_type_error():
    with pytest.raises(TypeError):
        torch.zeros(2, size=(2,))
    with pytest.raises(TypeError, match="size"):
        ember.zeros(2, size=(2,))


def test_view_dtype_shares_memory():
    x = ember.zeros(2, 2)
    y = x.view(dtype=ember.int32)
    y[0, 0] = 1065353216  # the bits of 1.0f
    assert x[0, 0].item() == 1.0


def test_signature_diff_finds_no_gap_in_the_keywords_above():
    """scripts/signature_diff.py compares every shared name; the keywords this file relies
    on stay out of its report, and a name it cannot know is reported."""
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).parents[2] / "scripts" / "signature_diff.py"
    spec = importlib.util.spec_from_file_location("signature_diff", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows, compared, _ = module.differences()
    reported = dict(rows)
    assert compared > 500
    for name in ("flip", "reshape", "view", "permute", "expand", "repeat", "swapaxes",
                 "split", "cumsum_", "logit"):  # fmt: skip
        assert f"torch.Tensor.{name}" not in reported, reported.get(f"torch.Tensor.{name}")
    for name in ("zeros", "ones", "empty", "rand", "randn", "randint", "randn_like", "flip"):
        assert f"torch.{name}" not in reported, reported.get(f"torch.{name}")
    assert module.torch_keywords(torch.flip, "flip", False) >= {"input", "dims"}


OUT_FACTORIES = [
    ("zeros", lambda lib, out: lib.zeros(2, 3, out=out)),
    ("full", lambda lib, out: lib.full((4,), 2.5, out=out)),
    ("arange", lambda lib, out: lib.arange(5.0, out=out)),
    ("linspace", lambda lib, out: lib.linspace(0, 1, 5, out=out)),
    ("eye", lambda lib, out: lib.eye(3, out=out)),
]


@pytest.mark.parametrize("fn", [pytest.param(f, id=n) for n, f in OUT_FACTORIES])
def test_factory_writes_into_out(fn):
    results = []
    for lib in (torch, ember):
        out = lib.empty(0)
        r = fn(lib, out)
        assert r is out
        results.append(out.numpy())
    np.testing.assert_array_equal(results[1], results[0])


@pytest.mark.parametrize(
    "fn",
    [lambda lib: lib.rand(2, bogus=1), lambda lib: lib.randn(2, sizes=(2,)),
     lambda lib: lib.full((2,), 1.0, fill=2), lambda lib: lib.zeros(2).new_full((2,), 1, x=1)],
)  # fmt: skip
def test_unknown_keyword_is_a_type_error_not_ignored(fn):
    with pytest.raises(TypeError):
        fn(torch)
    with pytest.raises(TypeError):
        fn(ember)


def test_new_full_and_new_tensor_keep_requires_grad():
    x = ember.zeros(2)
    assert x.new_full((2,), 1.0, requires_grad=True).requires_grad
    assert x.new_tensor([1.0], requires_grad=True).requires_grad


TO_CALLS = [
    ("dtype_positional_flags", lambda lib: ((lib.float64, False, True), {})),
    ("device_then_dtype", lambda lib: (("cpu", lib.int32), {})),
    ("other_tensor", lambda lib: ((lib.ones(1, dtype=lib.int64),), {})),
    ("keywords", lambda lib: ((), {"dtype": lib.float16, "copy": True, "non_blocking": True})),
    ("device_keyword_dtype", lambda lib: (("cpu",), {"dtype": lib.float64})),
    ("same_dtype_no_copy", lambda lib: ((lib.float32,), {})),
    ("same_dtype_copy", lambda lib: ((lib.float32,), {"copy": True})),
    ("python_float", lambda lib: ((float,), {})),
    ("python_int", lambda lib: ((int,), {})),
]


@pytest.mark.parametrize("name,call", TO_CALLS, ids=[c[0] for c in TO_CALLS])
def test_tensor_to_forms_match_torch(name, call):
    results = []
    for lib in (torch, ember):
        x = lib.ones(2)
        args, kwargs = call(lib)
        y = x.to(*args, **kwargs)
        results.append((str(y.dtype).split(".")[-1], y is x))
    assert results[1] == results[0]


@pytest.mark.parametrize(
    "args,kwargs", [((), {"bogus": 1}), ((ember.float64, "x"), {}), ((ember.float64, 1), {})]
)
def test_tensor_to_rejects_unknown_arguments(args, kwargs):
    with pytest.raises(TypeError):
        torch.ones(2).to(*[torch.float64 if a is ember.float64 else a for a in args], **kwargs)
    with pytest.raises(TypeError):
        ember.ones(2).to(*args, **kwargs)


@pytest.mark.parametrize("pytype", [float, int, bool])
def test_python_types_as_dtype_match_torch(pytype):
    makers = [lambda lib: lib.ones(2, dtype=pytype), lambda lib: lib.zeros(2).to(pytype)]
    for make in makers:
        assert str(make(ember).dtype).split(".")[-1] == str(make(torch).dtype).split(".")[-1]
