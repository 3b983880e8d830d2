"""The convolution triangle (forward, input gradient, weight gradient) on every backend.

Each backend that registered the 2-D convolution kernels runs alone (`registry.only`):
conv2d and conv_transpose2d forward and first derivatives against torch, the kernels that ran
checked by name; second derivatives by gradgradcheck (float64, NumPy) and against torch's
gradient-penalty double backward (float32, every backend).
"""

import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradgradcheck
from ember.backends import registry

KERNELS = ("conv2d", "conv2d_grad_input", "conv2d_grad_weight")
BACKENDS = [b for b in registry.registered_backends() if b in registry.backends_for("conv2d")]
FLOAT32_ONLY = {"onednn"}

CONV = [
    dict(shape=(2, 4, 9, 8), out=6, k=3, stride=1, padding=1, dilation=1, groups=2),
    dict(shape=(2, 6, 9, 9), out=6, k=3, stride=2, padding=0, dilation=2, groups=3),
    dict(shape=(2, 6, 7, 7), out=6, k=(3, 2), stride=1, padding=0, dilation=1, groups=6),
    dict(shape=(2, 4, 7, 6), out=4, k=(2, 3), stride=1, padding="same", dilation=(1, 2), groups=1),
    dict(shape=(3, 8, 6, 6), out=4, k=1, stride=2, padding=0, dilation=1, groups=1),
    dict(shape=(1, 2, 11, 5), out=3, k=4, stride=(3, 2), padding=(2, 1), dilation=1, groups=1),
]


def _transposed(shape, out, k, stride, padding, output_padding, dilation, groups):
    return dict(
        shape=shape, out=out, k=k, stride=stride, padding=padding,
        output_padding=output_padding, dilation=dilation, groups=groups,
    )  # fmt: skip


TRANSPOSED = [
    _transposed((2, 4, 5, 6), 6, 3, 2, 1, 1, 1, 2),
    _transposed((2, 6, 4, 4), 3, 3, 1, 0, 0, 2, 3),
    _transposed((1, 3, 5, 4), 2, (2, 3), (2, 3), (0, 1), (1, 2), 1, 1),
    _transposed((2, 4, 3, 3), 4, 3, 3, 2, 0, 1, 4),
]


def _dtypes(backend):
    return ["float32"] if backend in FLOAT32_ONLY else ["float32", "float64"]


CASES = [(b, d) for b in BACKENDS for d in _dtypes(b)]


def _arrays(case, transposed, dtype, seed):
    rng = np.random.default_rng(seed)
    k = case["k"] if isinstance(case["k"], tuple) else (case["k"],) * 2
    c = case["shape"][1]
    w_shape = (c, case["out"] // case["groups"], *k) if transposed else (
        case["out"], c // case["groups"], *k
    )  # fmt: skip
    x = rng.standard_normal(case["shape"]).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(case["out"]).astype(dtype)
    return x, w, b


def _run(lib, case, transposed, arrays, channels_last):
    """Output and the gradients of a weighted sum of it, in ``lib``."""
    x, w, b = (lib.tensor(a) for a in arrays)
    if channels_last:
        x = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    for t in (x, w, b):
        t.requires_grad_(True)
    names = ("stride", "padding", "dilation", "groups")
    names += ("output_padding",) if transposed else ()
    kw = {n: case[n] for n in names}
    fn = lib.nn.functional.conv_transpose2d if transposed else lib.nn.functional.conv2d
    out = fn(x, w, b, **kw)
    cot = lib.tensor(np.cos(np.arange(out.numel())).reshape(out.shape).astype(arrays[0].dtype))
    gx, gw, gb = lib.autograd.grad((out * cot).sum(), (x, w, b))
    layout = out.is_contiguous(), gx.is_contiguous()  # a leaf's .grad may be re-laid out
    return [out.detach().numpy(), gx.numpy(), gw.numpy(), gb.numpy()], layout


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
@pytest.mark.parametrize("transposed", [False, True], ids=["conv", "transposed"])
@pytest.mark.parametrize("backend,dtype", CASES)
def test_forward_and_first_derivatives_match_torch(backend, dtype, transposed, channels_last):
    cases = TRANSPOSED if transposed else CONV
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == "float32" else dict(rtol=1e-10, atol=1e-10)
    for i, case in enumerate(cases):
        arrays = _arrays(case, transposed, dtype, seed=i)
        expected, torch_layout = _run(torch, case, transposed, arrays, channels_last)
        with registry.only(backend):
            got, layout = _run(ember, case, transposed, arrays, channels_last)
        # a convolution's first derivatives come from one call computing both gradients
        for name in KERNELS if transposed else ("conv2d", "conv2d_backward"):
            assert registry.last_used(name) == backend, (name, case)
        for what, g, e in zip(("out", "x.grad", "w.grad", "b.grad"), got, expected):
            np.testing.assert_allclose(g, e, **tol, err_msg=f"{what} of {case}")
        if case["padding"] != "same":  # "same" pads a copy first: its gradient is a view
            assert layout == torch_layout, case


def _penalty_grads(lib, fn, arrays):
    """Gradients of a penalty on the first derivatives of sum(out^2) in x, w and b."""
    x, w, b = (lib.tensor(a, requires_grad=True) for a in arrays)
    out = fn(lib, x, w, b)
    gx, gw, gb = lib.autograd.grad((out**2).sum(), (x, w, b), create_graph=True)
    ((gx**2).sum() + (gw**2).sum() + (gb**3).sum() + (out * gx.sum()).mean()).backward()
    return [t.grad.numpy() for t in (x, w, b)]


SECOND_ORDER = {
    "strided_grouped": (
        lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, stride=2, padding=1, groups=2),
        (6, 2, 3, 3),
        6,
    ),
    "same": (
        lambda lib, x, w, b: lib.nn.functional.conv2d(x, w, b, dilation=2, padding="same"),
        (5, 4, 2, 3),
        5,
    ),
    "transposed": (
        lambda lib, x, w, b: lib.nn.functional.conv_transpose2d(
            x, w, b, stride=2, padding=1, output_padding=1, groups=2
        ),
        (4, 3, 3, 3),
        6,
    ),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", SECOND_ORDER)
def test_gradient_penalty_double_backward_matches_torch_in_float32(backend, case):
    fn, w_shape, out_channels = SECOND_ORDER[case]
    rng = np.random.default_rng(3)
    shapes = ((2, 4, 7, 6), w_shape, (out_channels,))
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    expected = _penalty_grads(torch, fn, arrays)
    with registry.only(backend):
        got = _penalty_grads(ember, fn, arrays)
        for name in KERNELS:
            assert registry.last_used(name) == backend, name
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-4 * np.abs(e).max())


GRADGRAD = [
    ("conv2d", (2, 4, 5, 5), (4, 2, 3, 3), dict(stride=2, padding=1, groups=2)),
    ("conv2d", (1, 2, 6, 5), (3, 2, 2, 3), dict(dilation=(2, 1), padding="same")),
    ("conv_transpose2d", (2, 4, 3, 4), (4, 3, 3, 2), dict(stride=2, output_padding=1, groups=2)),
    # output padding past the stride: the gradient's convolution reaches one window further
    ("conv_transpose2d", (1, 2, 4, 3), (2, 2, 3, 2), dict(dilation=2, output_padding=1)),
    ("conv3d", (1, 4, 4, 3, 4), (2, 2, 2, 2, 3), dict(stride=(1, 2, 1), padding=1, groups=2)),
    ("conv_transpose3d", (1, 2, 2, 3, 2), (2, 4, 2, 2, 2), dict(stride=2, groups=2)),
]


@pytest.mark.parametrize("op,x_shape,w_shape,kw", GRADGRAD, ids=[g[0] for g in GRADGRAD])
def test_gradgradcheck_in_float64_on_numpy(op, x_shape, w_shape, kw):
    rng = np.random.default_rng(4)
    x = ember.tensor(rng.standard_normal(x_shape), requires_grad=True)
    w = ember.tensor(rng.standard_normal(w_shape), requires_grad=True)
    b = ember.tensor(rng.standard_normal(w_shape[1] * kw.get("groups", 1) if "transpose" in op
                                         else w_shape[0]), requires_grad=True)  # fmt: skip
    fn = getattr(ember.nn.functional, op)
    with registry.only("numpy"):
        assert gradgradcheck(lambda x, w, b: fn(x, w, b, **kw), [x, w, b], atol=1e-6, rtol=1e-5)
        assert registry.last_used(op.replace("_transpose", "") + "_grad_weight") == "numpy"


TRANSPOSED_3D = [
    ((2, 4, 3, 3, 4), (4, 3, 3, 2, 2), dict(stride=2, padding=1, output_padding=1, groups=2)),
    ((1, 6, 2, 3, 3), (6, 1, 2, 2, 2), dict(dilation=2, groups=6)),
]


@pytest.mark.parametrize("x_shape,w_shape,kw", TRANSPOSED_3D)
def test_grouped_conv_transpose3d_matches_torch(x_shape, w_shape, kw):
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    results = []
    for lib in (torch, ember):
        x, w = (lib.tensor(a, requires_grad=True) for a in arrays)
        out = lib.nn.functional.conv_transpose3d(x, w, **kw)
        (out * out).sum().backward()
        results.append([out.detach().numpy(), x.grad.numpy(), w.grad.numpy()])
    for g, e in zip(results[1], results[0]):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-10)


BAD = [
    (lambda F, z: F.conv_transpose2d(z(1, 4, 5, 5), z(4, 3, 3, 3), groups=3), "divisible by 3"),
    (lambda F, z: F.conv_transpose2d(z(1, 3, 5, 5), z(4, 3, 3, 3)), "to have 4 channels"),
    (lambda F, z: F.conv_transpose2d(z(1, 4, 5, 5), z(4, 2, 3, 3), z(3)), "with 2 elements"),
    (lambda F, z: F.conv_transpose2d(z(1, 4, 1, 1), z(4, 2, 3, 3), padding=3), "too small"),
    (lambda F, z: F.conv2d(z(1, 4, 5, 5), z(3, 2, 3, 3), groups=2), "divisible by 2"),
    (lambda F, z: F.conv2d(z(1, 4, 5, 5), z(4, 4, 3, 3), z(3)), "with 4 elements"),
    (
        lambda F, z: F.conv_transpose2d(z(1, 4, 5, 5), z(4, 2, 3, 3), stride=2, output_padding=2),
        "output padding must be smaller",
    ),
]


@pytest.mark.parametrize("fn,match", BAD)
def test_bad_arguments_raise_as_torch(fn, match):
    with pytest.raises(RuntimeError):
        fn(torch.nn.functional, lambda *s: torch.zeros(s))
    with pytest.raises(RuntimeError, match=match):
        fn(ember.nn.functional, lambda *s: ember.zeros(s))


def test_bias_dtype_must_match():
    with pytest.raises(RuntimeError):
        torch.nn.functional.conv2d(torch.zeros(1, 2, 4, 4), torch.zeros(3, 2, 3, 3),
                                   torch.zeros(3, dtype=torch.float64))  # fmt: skip
    with pytest.raises(RuntimeError, match="bias type"):
        ember.nn.functional.conv2d(ember.zeros(1, 2, 4, 4), ember.zeros(3, 2, 3, 3),
                                   ember.zeros(3, dtype=ember.float64))  # fmt: skip
