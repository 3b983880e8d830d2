"""Every normalisation, first to third derivative: values, first and second derivatives
against torch 2.13, and every order up to the third against finite differences in float64
(torch's own third derivatives of batch_norm and layer_norm fail its gradgradcheck, so
torch is not the reference there)."""

import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradcheck, gradgradcheck
from ember.backends import registry


def F(lib):
    return lib.nn.functional


def _channels_last(x):
    return x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)


# name: (fn(lib, x, w, b), x shape, parameter shape or None)
CASES = {
    "batch_norm_2d": (lambda lib, x, w, b: F(lib).batch_norm(x, None, None, w, b, True),
                      (3, 2, 2, 3), (2,)),
    "batch_norm_rows": (lambda lib, x, w, b: F(lib).batch_norm(x, None, None, w, b, True),
                        (5, 3), (3,)),
    "batch_norm_channels_last": (
        lambda lib, x, w, b: F(lib).batch_norm(_channels_last(x), None, None, w, b, True),
        (2, 3, 2, 2), (3,)),
    "batch_norm_plain": (lambda lib, x, w, b: F(lib).batch_norm(x, None, None, None, None, True),
                         (4, 2, 3), None),
    "batch_norm_eval": (lambda lib, x, w, b: F(lib).batch_norm(
        x, lib.tensor([0.5, -1.0]).to(x.dtype), lib.tensor([2.0, 0.5]).to(x.dtype), w, b),
        (3, 2, 4), (2,)),
    "layer_norm": (lambda lib, x, w, b: F(lib).layer_norm(x, (3, 4), w, b), (2, 3, 4), (3, 4)),
    "layer_norm_weight_only": (lambda lib, x, w, b: F(lib).layer_norm(x, (4,), w), (3, 4), (4,)),
    "layer_norm_plain": (lambda lib, x, w, b: F(lib).layer_norm(x, (5,)), (2, 5), None),
    "group_norm": (lambda lib, x, w, b: F(lib).group_norm(x, 2, w, b), (2, 4, 3), (4,)),
    "group_norm_one_group": (lambda lib, x, w, b: F(lib).group_norm(x, 1, w, b), (2, 3, 2, 2),
                             (3,)),
    "group_norm_plain": (lambda lib, x, w, b: F(lib).group_norm(x, 3), (2, 6, 2), None),
    "instance_norm": (lambda lib, x, w, b: F(lib).instance_norm(x, weight=w, bias=b),
                      (2, 3, 4), (3,)),
    "instance_norm_plain": (lambda lib, x, w, b: F(lib).instance_norm(x), (2, 2, 2, 3), None),
    "rms_norm": (lambda lib, x, w, b: F(lib).rms_norm(x, (4,), w), (3, 4), (4,)),
    "local_response_norm": (lambda lib, x, w, b: F(lib).local_response_norm(x, 3, 0.1, 0.75, 1.0),
                            (2, 5, 3), None),
}  # fmt: skip


def _arrays(name, seed=0):
    _, shape, param = CASES[name]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 2 + 0.5
    if param is None:
        return [x]
    return [x, rng.standard_normal(param) + 1.0, rng.standard_normal(param)]


def _bound(lib, name):
    fn = CASES[name][0]
    return lambda x, w=None, b=None: fn(lib, x, w, b)


@pytest.mark.parametrize("name", CASES)
def test_gradcheck_and_gradgradcheck(name):
    inputs = [ember.tensor(a, requires_grad=True) for a in _arrays(name)]
    fn = _bound(ember, name)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def _first_gradients(name):
    """(x, w, b) -> the first gradients of a weighted sum of the output, with create_graph."""

    def run(*inputs):
        out = _bound(ember, name)(*inputs)
        weights = ember.tensor(np.linspace(-1, 2, out.numel()).reshape(tuple(out.shape)))
        grads = ember.autograd.grad((out * weights).sum(), inputs, create_graph=True,
                                    allow_unused=True)  # fmt: skip
        return tuple(g for g in grads if g is not None)

    return run


@pytest.mark.parametrize("name", [n for n in CASES if n != "local_response_norm"])
def test_third_derivatives_against_finite_differences(name):
    inputs = [ember.tensor(a, requires_grad=True) for a in _arrays(name, seed=3)]
    assert gradgradcheck(_first_gradients(name), inputs)


def _derivatives(lib, name, arrays, dtype):
    """Output, first gradients and second gradients (of a weighted sum of squares of the
    first), with respect to every input."""
    ts = [lib.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    out = _bound(lib, name)(*ts)
    results = [out]
    value = (out * lib.tensor(np.linspace(-1, 2, out.numel()).reshape(tuple(out.shape)))
             .to(out.dtype)).sum()  # fmt: skip
    grads = lib.autograd.grad(value, ts, create_graph=True, allow_unused=True)
    results += list(grads)
    value = sum((g * g * (k + 1.5)).sum() for k, g in enumerate(grads)
                if g is not None and g.requires_grad)  # fmt: skip
    return results + list(lib.autograd.grad(value, ts, allow_unused=True))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", CASES)
def test_values_and_two_orders_of_derivatives_match_torch(name, dtype):
    arrays = _arrays(name, seed=1)
    expected = _derivatives(torch, name, arrays, dtype)
    got = _derivatives(ember, name, arrays, dtype)
    assert len(got) == len(expected)
    rtol, atol = (1e-7, 1e-9) if dtype == "float64" else (2e-3, 2e-3)
    for k, (g, e) in enumerate(zip(got, expected)):
        if g is None or e is None:  # no gradient is right where the other one is zero
            assert g is e or np.allclose((g if e is None else e).detach().numpy(), 0), k
            continue
        assert str(g.dtype).split(".")[-1] == str(e.dtype).split(".")[-1], k
        np.testing.assert_allclose(g.detach().numpy(), e.detach().numpy(), rtol=rtol,
                                   atol=atol, err_msg=f"{name}: result {k}")  # fmt: skip


@pytest.mark.parametrize("momentum", [0.1, None])
def test_instance_norm_running_statistics_match_torch(momentum):
    rng = np.random.default_rng(2)
    mods = [lib.nn.InstanceNorm1d(3, affine=True, track_running_stats=True, momentum=momentum)
            for lib in (torch, ember)]  # fmt: skip
    for step in range(3):
        x = rng.standard_normal((4, 3, 5)) * (step + 1) + step
        outs = [m.double()(lib.tensor(x)) for m, lib in zip(mods, (torch, ember))]
        np.testing.assert_allclose(outs[1].detach().numpy(), outs[0].detach().numpy(), rtol=1e-9)
    for buffer in ("running_mean", "running_var"):
        np.testing.assert_allclose(getattr(mods[1], buffer).numpy(),
                                   getattr(mods[0], buffer).numpy(), rtol=1e-9)  # fmt: skip
    mods[0].eval()
    mods[1].eval()
    x = rng.standard_normal((2, 3, 5))
    np.testing.assert_allclose(mods[1](ember.tensor(x)).detach().numpy(),
                               mods[0](torch.tensor(x)).detach().numpy(), rtol=1e-9)  # fmt: skip


@pytest.mark.parametrize("op", ["layer_norm_forward", "layer_norm_backward",
                                "batch_norm_forward", "batch_norm_backward",
                                "group_norm_forward", "group_norm_backward"])  # fmt: skip
def test_fused_passes_run_through_the_registered_numpy_kernels(op):
    x = ember.randn(4, 6, 3, requires_grad=True)
    with registry.only("numpy"):
        for out in (F(ember).layer_norm(x, (3,)), F(ember).batch_norm(x, None, None, training=True),
                    F(ember).group_norm(x, 2)):  # fmt: skip
            out.sum().backward()
    assert registry.last_used(op) == "numpy"


def test_bad_arguments_name_the_op_and_the_shapes():
    x = ember.randn(2, 6, 3)
    with pytest.raises(RuntimeError, match=r"divisible by num_groups.*\[2, 6, 3\].*4"):
        F(ember).group_norm(x, 4)
    with pytest.raises(RuntimeError, match=r"layer_norm.*weight of shape \[3\].*\[4\]"):
        F(ember).layer_norm(x, (3,), ember.ones(4))
    with pytest.raises(RuntimeError, match=r"batch_norm.*int64.*floating-point"):
        F(ember).batch_norm(ember.ones(3, 2, dtype=ember.int64), None, None, training=True)
    with pytest.raises(RuntimeError, match=r"batch_norm.*bias of shape \[6\].*\[5\]"):
        F(ember).batch_norm(x, None, None, bias=ember.zeros(5), training=True)


@pytest.mark.parametrize("name", ["batch_norm_2d", "layer_norm_plain", "group_norm_plain",
                                  "instance_norm_plain", "rms_norm"])  # fmt: skip
def test_integer_input_raises_the_error_type_torch_raises(name):
    raised = []
    for lib in (torch, ember):
        x = lib.tensor(np.ones(CASES[name][1], np.int64))
        param = None if CASES[name][2] is None else lib.ones(CASES[name][2])
        with pytest.raises(Exception) as info:
            _bound(lib, name)(x, param, param)
        raised.append(type(info.value))
    assert raised[1] is raised[0]
