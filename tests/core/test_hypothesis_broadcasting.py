"""Property-based: binary ops broadcast like PyTorch over random shapes, forward and backward."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ember

OPS = {
    "add": lambda lib, a, b: a + b,
    "sub": lambda lib, a, b: a - b,
    "mul": lambda lib, a, b: a * b,
    "div": lambda lib, a, b: a / (b.abs() + 0.5),
    "maximum": lambda lib, a, b: lib.maximum(a, b),
    "atan2": lambda lib, a, b: lib.atan2(a, b),
    "where": lambda lib, a, b: lib.where(a > b, a, b),
}

shapes = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=0,
                                           max_side=3)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(shapes=shapes, op=st.sampled_from(sorted(OPS)), seed=st.integers(0, 2**16),
       dtype=st.sampled_from(["float32", "float64"]))  # fmt: skip
def test_binary_broadcasting_matches_torch(shapes, op, seed, dtype):
    rng = np.random.default_rng(seed)
    sa, sb = shapes.input_shapes
    a, b = rng.standard_normal(sa).astype(dtype), rng.standard_normal(sb).astype(dtype)
    w = rng.standard_normal(shapes.result_shape).astype(dtype)
    results = []
    for lib in (torch, ember):
        ta = lib.tensor(a, requires_grad=True)
        tb = lib.tensor(b, requires_grad=True)
        out = OPS[op](lib, ta, tb)
        (out * lib.tensor(w)).sum().backward()
        results.append((out.detach().numpy(), str(out.dtype).split(".")[-1], ta.grad, tb.grad))
    (ro, rd, rga, rgb), (go, gd, gga, ggb) = results
    assert go.shape == ro.shape == shapes.result_shape
    assert gd == rd
    np.testing.assert_allclose(go, ro, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gga.numpy(), rga.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ggb.numpy(), rgb.numpy(), rtol=1e-4, atol=1e-5)
    assert gga.shape == sa and ggb.shape == sb


@settings(max_examples=40, deadline=None)
@given(shapes=shapes, seed=st.integers(0, 2**16),
       dtypes=st.tuples(*[st.sampled_from(["float32", "float64", "int64", "int32", "uint8",
                                           "bool"])] * 2))  # fmt: skip
def test_promotion_over_random_shapes_matches_torch(shapes, seed, dtypes):
    rng = np.random.default_rng(seed)
    arrays = [(rng.standard_normal(s) * 3).astype(d) for s, d in zip(shapes.input_shapes, dtypes)]
    outs = []
    for lib in (torch, ember):
        a, b = (lib.tensor(x) for x in arrays)
        r = [a * b, a == b, a + 1.5, b * 2]
        outs.append([(str(t.dtype).split(".")[-1], t.numpy()) for t in r])
    for (rd, rv), (gd, gv) in zip(*outs):
        assert gd == rd
        np.testing.assert_allclose(gv, rv, rtol=1e-5, atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(sa=st.tuples(st.integers(2, 4), st.integers(2, 4)), extra=st.integers(0, 2))
def test_incompatible_shapes_raise_like_torch(sa, extra):
    sb = (extra + 1,) * extra + (sa[0] + 1, sa[1])  # dim -2 differs and neither side is 1
    errors = []
    for lib in (torch, ember):
        try:
            lib.zeros(sa) + lib.zeros(sb)
        except RuntimeError as e:
            errors.append(str(e))
    assert len(errors) == 2
    assert str(list(sa)) in errors[1] and str(list(sb)) in errors[1]
