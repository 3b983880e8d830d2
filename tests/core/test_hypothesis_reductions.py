"""Property-based: reductions over random shapes, dims and keepdim match PyTorch."""

import numpy as np
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ember

REDUCTIONS = {
    "sum": lambda t, d, k: t.sum(d, keepdim=k),
    "mean": lambda t, d, k: t.mean(d, keepdim=k),
    "amax": lambda t, d, k: t.amax(d, keepdim=k),
    "amin": lambda t, d, k: t.amin(d, keepdim=k),
    "prod": lambda t, d, k: t.prod(d[0], keepdim=k),
    "var": lambda t, d, k: t.var(d, keepdim=k, correction=0),
    "std": lambda t, d, k: t.std(d, keepdim=k),
    "logsumexp": lambda t, d, k: t.logsumexp(d, keepdim=k),
    "norm": lambda t, d, k: t.norm(p=2, dim=d, keepdim=k),
    "max": lambda t, d, k: t.max(d[0], keepdim=k).values,
    "argmax": lambda t, d, k: t.argmax(d[0], keepdim=k),
    "cumsum": lambda t, d, k: t.cumsum(d[0]),
}


@st.composite
def shape_and_dims(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    n = len(shape)
    dims = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=n,
                         unique_by=lambda d: d % n))  # fmt: skip
    return shape, tuple(dims)


@settings(max_examples=80, deadline=None)
@given(sd=shape_and_dims(), op=st.sampled_from(sorted(REDUCTIONS)), keepdim=st.booleans(),
       seed=st.integers(0, 2**16))  # fmt: skip
def test_reduction_matches_torch(sd, op, keepdim, seed):
    shape, dims = sd
    if op == "std":
        assume(np.prod([shape[d] for d in dims]) > 1)  # unbiased std of one element is nan
    rng = np.random.default_rng(seed)
    # Distinct values: max/argmax without ties, whose gradient is then unambiguous.
    x = (rng.permutation(int(np.prod(shape))).reshape(shape) + rng.random(shape)) / 10
    w = None
    results = []
    for lib in (torch, ember):
        t = lib.tensor(x, requires_grad=True)
        out = REDUCTIONS[op](t, dims, keepdim)
        if w is None:
            w = rng.standard_normal(tuple(out.shape))
        if out.requires_grad:
            (out * lib.tensor(w)).sum().backward()
        results.append((out.detach().numpy(), str(out.dtype).split(".")[-1],
                        None if t.grad is None else t.grad.numpy()))  # fmt: skip
    (ro, rd, rg), (go, gd, gg) = results
    assert go.shape == ro.shape and gd == rd
    np.testing.assert_allclose(go, ro, rtol=1e-10, atol=1e-12)
    if rg is not None:
        np.testing.assert_allclose(gg, rg, rtol=1e-9, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
       dtype=st.sampled_from(["int64", "int32", "uint8", "bool", "float32"]),
       seed=st.integers(0, 2**16))  # fmt: skip
def test_full_reductions_dtype_and_empty(shape, dtype, seed):
    """Full reductions of any shape, including empty and 0-d, and integer/bool dtypes."""
    x = (np.random.default_rng(seed).standard_normal(shape) * 3).astype(dtype)
    outs = []
    for lib in (torch, ember):
        t = lib.tensor(x)
        r = [t.sum(), t.prod(), t.all(), t.any(), lib.count_nonzero(t)]
        if dtype == "float32":
            r.append(t.mean())
        if t.numel():
            r += [t.max(), t.amin()] + ([t.argmax()] if dtype != "bool" else [])
        outs.append([(str(o.dtype).split(".")[-1], o.numpy()) for o in r])
    for (rd, rv), (gd, gv) in zip(*outs):
        assert gd == rd
        np.testing.assert_allclose(gv, rv, rtol=1e-5, atol=1e-5)
