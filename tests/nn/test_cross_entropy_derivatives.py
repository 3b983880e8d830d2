"""cross_entropy and nll_loss in every mode (class indices or probabilities, class weights,
ignore_index, label smoothing, each reduction, extra dimensions): values and first and
second derivatives against torch 2.13, and up to the third derivative against finite
differences in float64."""

import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradcheck, gradgradcheck
from ember.backends import registry

C = 4
_rng = np.random.default_rng(0)
LOGITS = _rng.standard_normal((5, C)) * 2
INDICES = np.array([0, 3, 1, 3, 2])
PROBS = _rng.random((5, C)) + 0.1
PROBS /= PROBS.sum(1, keepdims=True)
WEIGHT = np.array([0.5, 2.0, 1.0, 1.5])
LOGITS_3D = _rng.standard_normal((2, C, 3))
INDICES_3D = np.array([[1, 0, 3], [2, 2, -100]])

# name: (function name, logits, target, keyword arguments)
MODES = {
    "indices": ("cross_entropy", LOGITS, INDICES, {}),
    "indices_weight": ("cross_entropy", LOGITS, INDICES, {"weight": WEIGHT}),
    "indices_ignore": ("cross_entropy", LOGITS, INDICES, {"ignore_index": 3}),
    "indices_smoothing": ("cross_entropy", LOGITS, INDICES, {"label_smoothing": 0.2}),
    "indices_all": ("cross_entropy", LOGITS, INDICES,
                    {"weight": WEIGHT, "ignore_index": 1, "label_smoothing": 0.3}),
    "indices_3d": ("cross_entropy", LOGITS_3D, INDICES_3D, {"label_smoothing": 0.1}),
    "probabilities": ("cross_entropy", LOGITS, PROBS, {}),
    "probabilities_all": ("cross_entropy", LOGITS, PROBS,
                          {"weight": WEIGHT, "label_smoothing": 0.25}),
    "nll": ("nll_loss", LOGITS, INDICES, {}),
    "nll_weight_ignore": ("nll_loss", LOGITS, INDICES, {"weight": WEIGHT, "ignore_index": 0}),
    "nll_3d": ("nll_loss", LOGITS_3D, INDICES_3D, {"weight": WEIGHT}),
}  # fmt: skip
REDUCTIONS = ["mean", "sum", "none"]


def _loss(lib, mode, reduction):
    name, _, _, kwargs = MODES[mode]
    kw = {k: lib.tensor(v) if k == "weight" else v for k, v in kwargs.items()}

    def run(x, t):
        if isinstance(t, np.ndarray):
            t = lib.tensor(t)
        w = kw.get("weight")
        extra = {**kw, "weight": None if w is None else w.to(x.dtype)}
        return getattr(lib.nn.functional, name)(x, t, reduction=reduction, **extra)

    return run


def _differentiable(mode):
    """Inputs that get gradients: the logits, and a probability target."""
    return (0, 1) if MODES[mode][2].dtype.kind == "f" else (0,)


def _inputs(lib, mode, dtype="float64"):
    _, x, t, _ = MODES[mode]
    diff = _differentiable(mode)
    return [
        lib.tensor(a.astype(dtype) if a.dtype.kind == "f" else a, requires_grad=i in diff)
        for i, a in enumerate((x, t))
    ]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("mode", MODES)
def test_gradcheck_and_gradgradcheck(mode, reduction):
    inputs = _inputs(ember, mode)
    fn = _loss(ember, mode, reduction)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("mode", MODES)
def test_third_derivatives_against_finite_differences(mode, reduction):
    inputs = _inputs(ember, mode)
    fn = _loss(ember, mode, reduction)

    def first_gradients(*ins):
        loss = fn(*ins)
        w = ember.tensor(np.linspace(0.5, 1.5, loss.numel()).reshape(tuple(loss.shape)))
        wrt = [t for t in ins if t.requires_grad]
        return ember.autograd.grad((loss * w).sum(), wrt, create_graph=True)

    if MODES[mode][0] == "nll_loss":  # linear in the input: no second derivative to check
        return
    assert gradgradcheck(first_gradients, inputs)


def _derivatives(lib, mode, reduction, dtype):
    ins = _inputs(lib, mode, dtype)
    loss = _loss(lib, mode, reduction)(*ins)
    wrt = [t for t in ins if t.requires_grad]
    w = lib.tensor(np.linspace(0.5, 1.5, loss.numel()).reshape(tuple(loss.shape))).to(loss.dtype)
    firsts = lib.autograd.grad((loss * w).sum(), wrt, create_graph=True)
    terms = [(g * g * (k + 1.0)).sum() for k, g in enumerate(firsts) if g.requires_grad]
    # a first gradient that is constant (nll_loss is linear) has no graph: its derivative is 0
    seconds = lib.autograd.grad(sum(terms), wrt, allow_unused=True) if terms else [None] * len(wrt)
    return [loss, *firsts, *seconds]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("mode", MODES)
def test_values_and_two_orders_of_derivatives_match_torch(mode, reduction, dtype):
    expected = _derivatives(torch, mode, reduction, dtype)
    got = _derivatives(ember, mode, reduction, dtype)
    assert len(got) == len(expected)
    rtol, atol = (1e-7, 1e-10) if dtype == "float64" else (1e-4, 1e-5)
    for k, (g, e) in enumerate(zip(got, expected)):
        if g is None or e is None:  # no gradient is right where the other one is zero
            assert g is e or np.allclose((g if e is None else e).detach().numpy(), 0), k
            continue
        assert str(g.dtype).split(".")[-1] == str(e.dtype).split(".")[-1], k
        np.testing.assert_allclose(g.detach().numpy(), e.detach().numpy(), rtol=rtol,
                                   atol=atol, err_msg=f"{mode}: result {k}")  # fmt: skip


@pytest.mark.parametrize("mode", ["indices_all", "probabilities_all", "nll_weight_ignore"])
def test_array_work_runs_through_the_registered_numpy_kernels(mode):
    with registry.only("numpy"):
        _loss(ember, mode, "mean")(*_inputs(ember, mode)).backward()
    assert registry.last_used("cross_entropy_forward") == "numpy"
    assert registry.last_used("cross_entropy_backward") == "numpy"


def test_bad_weight_names_the_shapes():
    x, t = ember.tensor(LOGITS), ember.tensor(INDICES)
    with pytest.raises(RuntimeError, match=r"cross_entropy.*4 classes.*\[3\]"):
        ember.nn.functional.cross_entropy(x, t, weight=ember.ones(3))
    with pytest.raises(ValueError, match="reduction"):
        ember.nn.functional.nll_loss(x, t, reduction="average")
