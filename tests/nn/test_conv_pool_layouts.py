"""Memory layouts of convolutions and tiled max pooling, per backend, against torch.

oneDNN reads arrays through their own strides and writes results in the layout torch gives
(contiguous, or channels-last for a channels-last input); the NumPy kernels compute
channels-last and the op converts. Both must give torch's values, gradients and strides for
contiguous, channels-last and sliced (non-contiguous) inputs.
"""

import numpy as np
import pytest
import torch

import ember
from ember.backends import registry

LAYOUTS = ["contiguous", "channels_last", "sliced"]


@pytest.fixture(params=["onednn", "numpy"])
def backend(request):
    if request.param not in registry.backends_for("conv2d"):
        pytest.skip(f"no {request.param} kernels here")
    with registry.only(request.param):
        yield request.param


def _in_layout(lib, t, layout):
    """``t`` (N, C, H, W) as a channels-last view, or a strided slice of a larger tensor."""
    if layout == "channels_last":
        return t.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    if layout == "sliced":
        doubled = lib.cat([t, t], dim=3)
        return doubled[:, :, :, ::2]
    return t


def _run(lib, x, fn, layout, grad_seed=3):
    """fn's output, its strides, and the gradients of the leaves passed to fn."""
    leaves = [lib.tensor(a, requires_grad=True) for a in x]
    out = fn(lib, _in_layout(lib, leaves[0], layout), *leaves[1:])
    out = out[0] if isinstance(out, tuple) else out
    weight = np.random.default_rng(grad_seed).standard_normal(tuple(out.shape))
    out.backward(lib.tensor(weight.astype(np.float32)))
    return out, [t.grad.numpy() for t in leaves]


CONVS = {
    "3x3_pad1_bias": lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, padding=1),
    "stride2_dilation2": lambda lib, x, w, b: lib.nn.functional.conv2d(
        x, w, b, stride=2, padding=2, dilation=2
    ),
    "groups2_same": lambda lib, x, w, b: lib.nn.functional.conv2d(
        x, w[:, :2].contiguous(), b, padding="same", groups=2
    ),
    "1x1_stride2": lambda lib, x, w, b: lib.nn.functional.conv2d(
        x, w[:, :, :1, :1].contiguous(), b, stride=2
    ),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", list(CONVS))
def test_conv2d_values_gradients_and_strides(backend, name, layout):
    rng = np.random.default_rng(0)
    arrays = [
        rng.standard_normal((3, 4, 9, 8)).astype(np.float32),
        rng.standard_normal((6, 4, 3, 3)).astype(np.float32),
        rng.standard_normal(6).astype(np.float32),
    ]
    ours, our_grads = _run(ember, arrays, CONVS[name], layout)
    assert registry.last_used("conv2d_backward") == backend  # both gradients in one call
    theirs, their_grads = _run(torch, arrays, CONVS[name], layout)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), 1e-4, 1e-4)
    for got, ref in zip(our_grads, their_grads):
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)
    assert ours.stride() == theirs.stride()
    assert ours.is_contiguous() == theirs.is_contiguous()


@pytest.mark.parametrize("layout", LAYOUTS)
def test_input_gradient_keeps_the_input_layout(backend, layout):
    """The gradient reaching a channels-last input is channels-last, as torch's (a hook sees
    it; retain_grad would store a contiguous copy)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    w = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)
    seen = {}
    for lib in (torch, ember):
        leaf = lib.tensor(x, requires_grad=True)
        inp = _in_layout(lib, leaf, layout)
        inp.register_hook(lambda g, name=lib.__name__: seen.update({name: (g.stride(), g)}))
        out = lib.nn.functional.conv2d(inp, lib.tensor(w), padding=1)
        out.backward(lib.ones(tuple(out.shape)))
    assert seen["ember"][0] == seen["torch"][0]
    np.testing.assert_allclose(
        seen["ember"][1].numpy(), seen["torch"][1].numpy(), rtol=1e-4, atol=1e-4
    )


POOL_CASES = [
    dict(shape=(4, 3, 8, 8), k=2),
    dict(shape=(4, 3, 9, 7), k=2),  # cells no window covers
    dict(shape=(2, 3, 8, 12), k=(2, 3)),
    dict(shape=(2, 3, 9, 9), k=2, ceil_mode=True),
    dict(shape=(2, 3, 10), k=2, rank=1),
    dict(shape=(2, 3, 4, 6, 8), k=2, rank=3),
]


@pytest.fixture(params=["onednn", "numpy"])
def pool_backend(request):
    """NumPy alone, or oneDNN first (it serves finite tiled input; NumPy the rest)."""
    if request.param not in registry.backends_for("max_pool"):
        pytest.skip(f"no {request.param} kernels here")
    with registry.only(request.param, "numpy"):
        yield request.param


def _pool(lib, x, case):
    fn = getattr(lib.nn.functional, f"max_pool{case.get('rank', 2)}d")
    return fn(x, case["k"], ceil_mode=case.get("ceil_mode", False), return_indices=True)


@pytest.mark.parametrize("layout", ["contiguous", "channels_last"])
@pytest.mark.parametrize("fill", [None, 0.0, np.nan, -np.inf, np.inf])
@pytest.mark.parametrize("case", POOL_CASES, ids=range(len(POOL_CASES)))
def test_max_pool_values_indices_gradients_and_strides(pool_backend, case, fill, layout):
    """Ties (a constant fill), NaN and infinities pick the element torch picks."""
    if layout == "channels_last" and len(case["shape"]) != 4:
        pytest.skip("channels-last is a 4-D layout")
    x = np.random.default_rng(2).standard_normal(case["shape"]).astype(np.float32)
    if fill is not None:
        x.reshape(-1)[::5] = fill
    results = {}
    for lib in (torch, ember):
        leaf = lib.tensor(x, requires_grad=True)
        out, indices = _pool(lib, _in_layout(lib, leaf, layout), case)
        g = np.random.default_rng(3).standard_normal(tuple(out.shape)).astype(np.float32)
        out.backward(lib.tensor(g))
        results[lib.__name__] = (out.detach().numpy(), indices.numpy(), leaf.grad.numpy(),
                                 out.stride())  # fmt: skip
    ours, theirs = results["ember"], results["torch"]
    np.testing.assert_array_equal(ours[0], theirs[0])
    np.testing.assert_array_equal(ours[1], theirs[1])
    np.testing.assert_array_equal(ours[2], theirs[2])
    assert ours[3] == theirs[3]


def test_onednn_pooling_serves_finite_tiled_float32_input_only():
    if "onednn" not in registry.backends_for("max_pool"):
        pytest.skip("no oneDNN kernels here")
    # channels-last: vectorised in oneDNN on every x86 CPU it supports (plain layouts are
    # scalar code on AVX2 CPUs, which the next test shows declining)
    x = ember.tensor(np.random.default_rng(4).standard_normal((2, 3, 8, 8)), dtype=ember.float32)
    x = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2).requires_grad_(True)
    ember.nn.functional.max_pool2d(x, 2).sum().backward()
    assert registry.last_used("max_pool") == registry.last_used("max_pool_grad") == "onednn"
    with ember.no_grad():
        x[0, 0, 0, 0] = float("nan")
    ember.nn.functional.max_pool2d(x, 2)
    assert registry.last_used("max_pool") == "numpy"
    ember.nn.functional.max_pool2d(x.detach(), 3, stride=2)
    assert registry.last_used("max_pool") == "numpy"


def test_onednn_pooling_declines_scalar_code(monkeypatch):
    """Where oneDNN has only unvectorised pooling and reorders for a layout, NumPy's kernel
    runs it."""
    if "onednn" not in registry.backends_for("max_pool"):
        pytest.skip("no oneDNN kernels here")
    from ember.backends.onednn import library, pool

    for cache in ("_plans", "_gathers", "_scatters"):
        monkeypatch.setattr(pool, cache, library.RecentlyUsed(8))
    monkeypatch.setattr(library.Primitive, "implementation", lambda self: "simple_nchw:any")
    x = np.random.default_rng(6).standard_normal((2, 4, 8, 8)).astype(np.float32)
    ours, theirs = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ember.nn.functional.max_pool2d(ours, 2).sum().backward()
    torch.nn.functional.max_pool2d(theirs, 2).sum().backward()
    assert registry.last_used("max_pool") == registry.last_used("max_pool_grad") == "numpy"
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


@pytest.mark.parametrize("shape,out", [((2, 3, 7, 6), (3, 2)), ((2, 3, 9), (4,)),
                                       ((1, 2, 5, 6, 7), (2, 3, 3))])  # fmt: skip
def test_adaptive_max_pool_takes_the_last_nan_of_a_window_as_torch(shape, out):
    x = np.random.default_rng(5).random(shape).astype(np.float32)
    x.reshape(-1)[::4] = np.nan
    fn = f"adaptive_max_pool{len(out)}d"
    ours = getattr(ember.nn.functional, fn)(ember.tensor(x), out, return_indices=True)
    theirs = getattr(torch.nn.functional, fn)(torch.tensor(x), out, return_indices=True)
    np.testing.assert_array_equal(ours[0].numpy(), theirs[0].numpy())
    np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())
