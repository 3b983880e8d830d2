"""Losses at the edges of their domains, against torch 2.13: values, first derivatives and
second derivatives (create_graph) with respect to every differentiable input.

Binary cross-entropy at probabilities of exactly 0 and 1, tiny ones, ones a rounding step
below 1 and a saturated sigmoid; the logits form at +-100 and beyond, with pos_weight; KL
divergence, negative log-likelihood, Poisson and Gaussian NLL at zero targets and -inf
log-probabilities; (log-)softmax over rows holding -inf.
"""

import numpy as np
import pytest
import torch

import ember

INF = np.inf
SATURATED = 1 / (1 + np.exp(40.0))  # sigmoid(-40)
PROBS = np.array([0.0, 1.0, 1e-30, SATURATED, 1 - 1e-7, 0.5, 1e-13, 0.3])
LOGITS = np.array([-100.0, 100.0, -40.0, 40.0, 0.0, 3.0, -1000.0, 1000.0])
WEIGHTS = np.linspace(0.5, 2.0, 8)


def _F(lib):
    return lib.nn.functional


def _derivatives(lib, fn, arrays, dtype, diff):
    """Loss, first gradients and second gradients (of a fixed weighted sum of the first)."""
    ts = [lib.tensor(a.astype(dtype) if a.dtype.kind == "f" else a) for a in arrays]
    for i in diff:
        ts[i].requires_grad_(True)
    loss = fn(lib, *ts)
    wrt = [ts[i] for i in diff]
    firsts = lib.autograd.grad(loss.sum(), wrt, create_graph=True, allow_unused=True)
    terms = [
        (g * lib.tensor(np.arange(1.0, 1 + g.numel()).reshape(tuple(g.shape)).astype(dtype))).sum()
        for g in firsts
        if g is not None and g.requires_grad
    ]
    # a first gradient that is constant (a linear loss) has no graph: its derivative is zero
    seconds = lib.autograd.grad(sum(terms), wrt, allow_unused=True) if terms else [None] * len(wrt)
    return [loss, *firsts, *seconds]


def _assert_matches_torch(fn, arrays, dtype="float64", diff=(0,), rtol=1e-6):
    expected = _derivatives(torch, fn, arrays, dtype, diff)
    got = _derivatives(ember, fn, arrays, dtype, diff)
    assert len(got) == len(expected)
    atol = 1e-12 if dtype == "float64" else 1e-4  # float32: cancellation between large terms
    for k, (g, e) in enumerate(zip(got, expected)):
        if g is None or e is None:  # no gradient is right where the other one is zero
            assert g is e or np.allclose((g if e is None else e).detach().numpy(), 0), k
            continue
        assert str(g.dtype).split(".")[-1] == str(e.dtype).split(".")[-1], k
        np.testing.assert_allclose(
            g.detach().numpy(), e.detach().numpy(), rtol=rtol, atol=atol, err_msg=f"result {k}"
        )


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("target", [0.0, 1.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy_at_zero_one_and_saturation(dtype, reduction, target, weighted):
    def fn(lib, p, t, w):
        return _F(lib).binary_cross_entropy(p, t, weight=w if weighted else None,
                                            reduction=reduction)  # fmt: skip

    arrays = [PROBS, np.full(8, target), WEIGHTS]
    _assert_matches_torch(fn, arrays, dtype, diff=(0, 1), rtol=1e-5)


def test_binary_cross_entropy_gradient_of_saturated_sigmoid_is_tiny_not_constant():
    """The case that sent a Siamese network to NaN: sigmoid(-40) with target 1."""
    p = ember.tensor([SATURATED, 0.0, 1.0], dtype=ember.float64, requires_grad=True)
    target = ember.tensor([0.0, 0.0, 1.0], dtype=ember.float64)
    ember.nn.BCELoss(reduction="sum")(p, target).backward()
    tp = torch.tensor([SATURATED, 0.0, 1.0], dtype=torch.float64, requires_grad=True)
    torch.nn.BCELoss(reduction="sum")(tp, torch.tensor([0.0, 0.0, 1.0],
                                                      dtype=torch.float64)).backward()  # fmt: skip
    assert np.isfinite(p.grad.numpy()).all()
    np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12)


def test_binary_cross_entropy_refuses_a_weight_that_requires_grad():
    p = ember.tensor([0.2, 0.7], requires_grad=True)
    w = ember.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument 'weight'"):
        ember.nn.functional.binary_cross_entropy(p, ember.tensor([0.0, 1.0]), weight=w)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("target", [0.0, 1.0, 0.3])
@pytest.mark.parametrize("variant", ["plain", "pos_weight", "weight_mean"])
def test_binary_cross_entropy_with_logits_at_extreme_logits(dtype, target, variant):
    def fn(lib, x, t, w):
        f = _F(lib).binary_cross_entropy_with_logits
        if variant == "pos_weight":
            return f(x, t, pos_weight=w, reduction="none")
        if variant == "weight_mean":
            return f(x, t, weight=w, reduction="mean")
        return f(x, t, reduction="none")

    # torch rounds some vanishing terms (1e-44, 1e-18) to exactly 0: an absolute tolerance
    _assert_matches_torch(fn, [LOGITS, np.full(8, target), WEIGHTS], dtype, diff=(0, 1),
                          rtol=1e-5)  # fmt: skip


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none", "mean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_at_zero_targets_and_minus_inf_inputs(reduction, log_target):
    inp = np.log(np.array([[0.0, 0.5, 0.5], [0.2, 0.8, 0.0]]))
    tgt = np.array([[0.0, 0.3, 0.7], [1.0, 0.0, 0.0]])
    if log_target:
        tgt = np.log(tgt)
    with np.errstate(divide="ignore"):

        def fn(lib, x, t):
            return _F(lib).kl_div(x, t, reduction=reduction, log_target=log_target)

        _assert_matches_torch(fn, [inp, tgt], diff=(0, 1))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_at_minus_inf_log_probabilities(reduction):
    with np.errstate(divide="ignore"):
        lp = np.log(np.array([[0.0, 0.2, 0.8], [1.0, 0.0, 0.0], [0.5, 0.5, 0.0]]))

    def fn(lib, x, t, w):
        return _F(lib).nll_loss(x, t, weight=w, reduction=reduction, ignore_index=2)

    _assert_matches_torch(fn, [lp, np.array([1, 0, 2]), np.array([1.0, 2.0, 0.5])])


@pytest.mark.parametrize("full", [False, True])
def test_poisson_nll_loss_at_extreme_log_rates(full):
    def fn(lib, x, t):
        return _F(lib).poisson_nll_loss(x, t, log_input=True, full=full, reduction="none")

    # targets above 1 only: at 0 and 1 torch's Stirling term differentiates to 0 * inf
    _assert_matches_torch(fn, [np.array([-100.0, 0.0, 50.0, 2.0, -1.0]),
                               np.array([2.0, 3.0, 3.0, 5.0, 1.5])], diff=(0, 1))  # fmt: skip


@pytest.mark.parametrize("full", [False, True])
def test_gaussian_nll_loss_at_zero_variance(full):
    def fn(lib, x, t, v):
        return _F(lib).gaussian_nll_loss(x, t, v, full=full, reduction="none")

    arrays = [np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.5, -2.0]), np.array([0.0, 1e-8, 2.0])]
    _assert_matches_torch(fn, arrays, diff=(0, 1, 2))


@pytest.mark.parametrize("op", ["log_softmax", "softmax"])
def test_softmax_over_rows_with_minus_inf(op):
    x = np.array([[-INF, 0.0, 1.0], [-INF, -INF, 2.0], [0.0, -INF, -INF]])
    _assert_matches_torch(lambda lib, a: getattr(_F(lib), op)(a, 1), [x])


def test_cross_entropy_with_minus_inf_logits():
    x = np.array([[-INF, 0.0, 1.0], [-INF, -INF, 2.0], [0.0, -INF, -INF]])
    _assert_matches_torch(lambda lib, a, t: _F(lib).cross_entropy(a, t), [x, np.array([1, 2, 0])])
