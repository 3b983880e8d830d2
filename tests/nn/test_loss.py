"""Losses against torch: every reduction, float32 and float64, gradients of input and target."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as EF
from tests.nn.helpers import check_gradcheck, compare_functions, compare_modules

rng = np.random.default_rng(0)
N, C = 6, 5
X = rng.standard_normal((N, C))
Y = rng.standard_normal((N, C))
CLASSES = rng.integers(0, C, N)
PROBS = rng.random((N, C))
PROBS /= PROBS.sum(1, keepdims=True)
BINARY = (rng.random((N, C)) > 0.5).astype(np.float64)
SIGNS = np.where(rng.random(N) > 0.5, 1.0, -1.0)
SIGNS_2D = np.where(rng.random((N, C)) > 0.5, 1.0, -1.0)
W_C = rng.random(C) + 0.5
W_NC = rng.random((N, C)) + 0.5
LOG_P = X - np.log(np.exp(X).sum(1, keepdims=True))


def _labels():
    """Multi-label targets: class indices, each row ended early by -1."""
    t = np.full((N, C), -1)
    for i in range(N):
        k = i % C
        t[i, :k] = rng.permutation(C)[:k]
    return t


# name, inputs, kwargs, indices of inputs that get no gradient
CASES = [
    ("l1_loss", [X, Y], {}, ()),
    ("mse_loss", [X, Y], {}, ()),
    ("mse_loss", [X, Y], {"weight": W_NC}, ()),
    ("l1_loss", [X, Y], {"weight": W_NC}, ()),
    ("huber_loss", [X * 2, Y], {"delta": 0.7}, ()),
    ("huber_loss", [X * 2, Y], {"weight": W_NC}, ()),
    ("smooth_l1_loss", [X * 2, Y], {"beta": 0.5}, ()),
    ("smooth_l1_loss", [X * 2, Y], {"beta": 0.0}, ()),
    ("cross_entropy", [X, CLASSES], {}, ()),
    ("cross_entropy", [X, CLASSES], {"weight": W_C}, ()),
    ("cross_entropy", [X, CLASSES], {"label_smoothing": 0.2, "weight": W_C}, ()),
    ("cross_entropy", [X, np.where(CLASSES == 1, -100, CLASSES)], {"label_smoothing": 0.1}, ()),
    ("cross_entropy", [X, CLASSES], {"ignore_index": 2, "weight": W_C}, ()),
    ("cross_entropy", [X[0], CLASSES[0]], {}, ()),
    ("cross_entropy", [rng.standard_normal((3, C, 2, 2)), rng.integers(0, C, (3, 2, 2))],
     {"weight": W_C, "label_smoothing": 0.3}, ()),
    ("cross_entropy", [X, PROBS], {}, ()),
    ("cross_entropy", [X, PROBS], {"weight": W_C, "label_smoothing": 0.25}, ()),
    ("cross_entropy", [X[0], PROBS[0]], {}, ()),
    ("cross_entropy", [rng.standard_normal((3, C, 2)), rng.random((3, C, 2))], {}, ()),
    ("nll_loss", [LOG_P, CLASSES], {"weight": W_C}, ()),
    ("nll_loss", [LOG_P, CLASSES], {"ignore_index": 3}, ()),
    ("nll_loss", [rng.standard_normal((3, C, 2, 2)), rng.integers(0, C, (3, 2, 2))], {}, ()),
    ("binary_cross_entropy", [1 / (1 + np.exp(-X)), rng.random((N, C))], {}, ()),
    ("binary_cross_entropy", [1 / (1 + np.exp(-X)), BINARY], {"weight": W_C}, ()),
    ("binary_cross_entropy_with_logits", [X, rng.random((N, C))], {}, ()),
    ("binary_cross_entropy_with_logits", [X * 30, BINARY],
     {"weight": W_C, "pos_weight": W_C[::-1].copy()}, ()),
    ("kl_div", [LOG_P, PROBS], {}, ()),
    ("kl_div", [LOG_P, np.log(PROBS)], {"log_target": True}, ()),
    ("cosine_embedding_loss", [X, Y, SIGNS], {"margin": 0.2}, (2,)),
    ("margin_ranking_loss", [X[:, 0], Y[:, 0], SIGNS], {"margin": 0.3}, (2,)),
    ("triplet_margin_loss", [X, Y, rng.standard_normal((N, C))], {}, ()),
    ("triplet_margin_loss", [X, Y, rng.standard_normal((N, C))],
     {"p": 1, "swap": True, "margin": 2.0}, ()),
    ("hinge_embedding_loss", [X, SIGNS_2D], {"margin": 0.5}, (1,)),
    ("soft_margin_loss", [X, SIGNS_2D], {}, (1,)),
    ("multilabel_soft_margin_loss", [X, BINARY], {"weight": W_C}, ()),
    ("multi_margin_loss", [X, CLASSES], {}, ()),
    ("multi_margin_loss", [X, CLASSES], {"p": 2, "margin": 0.5, "weight": W_C}, ()),
    ("multilabel_margin_loss", [X, _labels()], {}, ()),
    ("poisson_nll_loss", [X, rng.poisson(2.0, (N, C)).astype(float)], {}, ()),
    ("poisson_nll_loss", [np.abs(X) + 0.1, rng.poisson(2.0, (N, C)).astype(float)],
     {"log_input": False, "full": True}, (1,)),  # torch's target gradient is nan at 0
    ("gaussian_nll_loss", [X, Y, rng.random((N, C)) + 0.1], {}, ()),
    ("gaussian_nll_loss", [X, Y, rng.random((N, 1)) + 0.1], {"full": True}, ()),
    ("gaussian_nll_loss", [X, Y, rng.random(N) + 0.1], {"eps": 0.5}, ()),
]  # fmt: skip
TENSOR_KWARGS = ("weight", "pos_weight")


def _bind(lib, F, name, kwargs, dtype):
    kw = {k: lib.tensor(v.astype(dtype)) if k in TENSOR_KWARGS else v for k, v in kwargs.items()}
    return lambda *xs: getattr(F, name)(*xs, **kw)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(
    "name,arrays,kwargs,constant", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_functional_loss_matches_torch(name, arrays, kwargs, constant, reduction, dtype):
    kwargs = {**kwargs, "reduction": reduction}
    compare_functions(
        _bind(torch, TF, name, kwargs, dtype),
        _bind(ember, EF, name, kwargs, dtype),
        arrays,
        dtype,
        rtol=1e-5 if dtype == "float32" else 1e-7,
        atol=1e-5 if dtype == "float32" else 1e-10,
        constant_inputs=constant,
    )


def test_kl_div_batchmean():
    compare_functions(
        lambda a, b: TF.kl_div(a, b, reduction="batchmean"),
        lambda a, b: EF.kl_div(a, b, reduction="batchmean"),
        [LOG_P, PROBS],
    )


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_is_stable_for_logits_of_magnitude_1e4(smoothing):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4 - 3], [5e3, 5e3, -1e4]], np.float32)
    t = np.array([1, 2, 0])
    for target in (t, np.eye(3, dtype=np.float32)[t]):
        compare_functions(
            lambda a, b: TF.cross_entropy(a, b, label_smoothing=smoothing),
            lambda a, b: EF.cross_entropy(a, b, label_smoothing=smoothing),
            [x, target],
            "float32",
            constant_inputs=(1,),
        )


def test_cross_entropy_with_every_target_ignored_is_nan_like_torch():
    x, t = torch.tensor(X), torch.full((N,), -100)
    e = EF.cross_entropy(ember.tensor(X), ember.tensor(t.numpy()))
    assert np.isnan(TF.cross_entropy(x, t).item()) and np.isnan(e.item())


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: EF.cross_entropy(x, ember.tensor(CLASSES[:4]), label_smoothing=0.1),
        lambda x: EF.cross_entropy(x, ember.tensor(PROBS[:4]), weight=ember.tensor(W_C)),
        lambda x: EF.cross_entropy(x, ember.tensor(CLASSES[:4]), reduction="none"),
        lambda x: EF.nll_loss(x, ember.tensor(CLASSES[:4]), weight=ember.tensor(W_C)),
        lambda x: EF.binary_cross_entropy_with_logits(x, ember.tensor(BINARY[:4])),
    ],
    ids=["ce_index", "ce_prob", "ce_none", "nll", "bce_logits"],
)
def test_gradcheck_and_double_backward(fn):
    check_gradcheck(fn, [X[:4]], second_order=True)


MODULES = [
    ("L1Loss", {}), ("MSELoss", {"reduction": "sum"}), ("CrossEntropyLoss", {}),
    ("CrossEntropyLoss", {"ignore_index": 1, "label_smoothing": 0.1}), ("NLLLoss", {}),
    ("BCELoss", {}), ("BCEWithLogitsLoss", {}), ("HuberLoss", {"delta": 0.5}),
    ("SmoothL1Loss", {"beta": 0.5}), ("KLDivLoss", {"reduction": "batchmean"}),
    ("KLDivLoss", {"log_target": True}), ("CosineEmbeddingLoss", {"margin": 0.1}),
    ("MarginRankingLoss", {}), ("TripletMarginLoss", {"swap": True}), ("HingeEmbeddingLoss", {}),
    ("SoftMarginLoss", {}), ("MultiLabelSoftMarginLoss", {}), ("MultiMarginLoss", {"p": 2}),
    ("MultiLabelMarginLoss", {}), ("PoissonNLLLoss", {"full": True}), ("GaussianNLLLoss", {}),
    ("CTCLoss", {"blank": 1}),
]  # fmt: skip


@pytest.mark.parametrize("name,kwargs", MODULES, ids=[f"{n}{k}" for n, k in MODULES])
def test_module_repr_and_state_dict_match_torch(name, kwargs):
    t, e = getattr(torch.nn, name)(**kwargs), getattr(ember.nn, name)(**kwargs)
    assert repr(e) == repr(t)
    assert list(e.state_dict()) == list(t.state_dict())
    assert e.reduction == t.reduction


def test_weighted_modules_hold_weight_as_a_buffer():
    w = W_C.astype(np.float32)
    for name in ("CrossEntropyLoss", "NLLLoss", "BCELoss", "MultiLabelSoftMarginLoss"):
        t = getattr(torch.nn, name)(weight=torch.tensor(w))
        e = getattr(ember.nn, name)(weight=ember.tensor(w))
        assert list(e.state_dict()) == list(t.state_dict()) == ["weight"]
    t = torch.nn.BCEWithLogitsLoss(torch.tensor(w), pos_weight=torch.tensor(w))
    e = ember.nn.BCEWithLogitsLoss(ember.tensor(w), pos_weight=ember.tensor(w))
    assert list(e.state_dict()) == list(t.state_dict())


def test_modules_call_their_functional_form():
    w = W_C
    compare_modules(
        torch.nn.CrossEntropyLoss(torch.tensor(w), ignore_index=0, label_smoothing=0.2),
        ember.nn.CrossEntropyLoss(ember.tensor(w), ignore_index=0, label_smoothing=0.2),
        [rng.standard_normal((4, C, 3)), rng.integers(0, C, (4, 3))],
    )
    compare_modules(
        torch.nn.TripletMarginLoss(margin=0.5, p=1),
        ember.nn.TripletMarginLoss(margin=0.5, p=1),
        [X, Y, X[::-1].copy()],
        "float32",
    )
    compare_modules(
        torch.nn.GaussianNLLLoss(full=True), ember.nn.GaussianNLLLoss(full=True), [X, Y, Y**2]
    )


def test_legacy_size_average_and_reduce_arguments():
    for sa, red, expect in [(False, None, "sum"), (None, False, "none"), (True, True, "mean")]:
        assert ember.nn.MSELoss(size_average=sa, reduce=red).reduction == expect
        t = TF.l1_loss(torch.tensor(X), torch.tensor(Y), size_average=sa, reduce=red)
        e = EF.l1_loss(ember.tensor(X), ember.tensor(Y), size_average=sa, reduce=red)
        np.testing.assert_allclose(e.numpy(), t.numpy())


def _ctc_inputs(seed=0):
    r = np.random.default_rng(seed)
    T, B, K = 12, 3, 5
    logits = r.standard_normal((T, B, K))
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    target_lengths = np.array([4, 2, 5])
    targets = r.integers(1, K, (B, 5))
    targets[0, 1] = targets[0, 2]  # a repeated label needs a blank between
    input_lengths = np.array([12, 9, 11])
    return log_probs, targets, input_lengths, target_lengths


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("concatenated", [False, True])
def test_ctc_loss_matches_torch(reduction, concatenated):
    lp, targets, il, tl = _ctc_inputs()
    if concatenated:
        targets = np.concatenate([row[:n] for row, n in zip(targets, tl)])

    def run(lib, F, lp_t):
        return F.ctc_loss(
            lp_t, lib.tensor(targets), lib.tensor(il), lib.tensor(tl), reduction=reduction
        )

    compare_functions(
        lambda a: run(torch, TF, a), lambda a: run(ember, EF, a), [lp], rtol=1e-6, atol=1e-8
    )


def test_ctc_loss_infeasible_target_is_inf_or_zeroed():
    lp, targets, _, _ = _ctc_inputs()
    il, tl = np.array([3, 9, 11]), np.array([4, 2, 5])  # 4 labels cannot fit in 3 steps
    for zero in (False, True):

        def run(lib, F, a, zero=zero):
            args = (lib.tensor(targets), lib.tensor(il), lib.tensor(tl))
            return F.ctc_loss(a, *args, reduction="none", zero_infinity=zero)

        compare_functions(lambda a: run(torch, TF, a), lambda a: run(ember, EF, a), [lp])


def test_bad_targets_name_the_problem():
    x = ember.tensor(X)
    with pytest.raises(IndexError, match="out of bounds"):
        EF.cross_entropy(x, ember.tensor([0, 1, 2, 3, 4, 5]))
    with pytest.raises(ValueError, match=r"\[6, 5\].*\[2\]"):
        EF.cross_entropy(x, ember.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="Long|int"):
        EF.nll_loss(x, ember.tensor([0.0, 1, 2, 3, 4, 1]).to(ember.float16))
    with pytest.raises(ValueError, match="shape|size"):
        EF.binary_cross_entropy_with_logits(x, ember.tensor(X[:, :2]))
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        EF.binary_cross_entropy(x, ember.tensor(BINARY))
    with pytest.raises(ValueError, match="reduction"):
        EF.mse_loss(x, x, reduction="average")
    with pytest.raises(ValueError, match="label_smoothing"):
        EF.cross_entropy(x, ember.tensor(CLASSES), label_smoothing=1.5)
    with pytest.warns(UserWarning, match="target size"):
        EF.mse_loss(x, ember.tensor(X[:1]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(128, 10), (7, 3), (1, 1000)])
def test_small_cross_entropy_kernel_gives_the_general_kernels_bits(shape, dtype):
    """Small class-index inputs take a short path: loss rows, exp(x - max), their sums and
    the count of kept targets are the general kernel's, with -inf logits, a row of -inf
    and an ignored target."""
    from ember.backends.numpy import loss as kernels

    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 5).astype(dtype)
    t = rng.integers(0, shape[1], shape[0])
    if shape[0] > 3:
        x[0, 0] = -np.inf
        x[1, :] = -np.inf
        t[2] = -100
    small = kernels._small_cross_entropy(x, t, -100)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kernels, "SMALL", -1)
        general = kernels.cross_entropy_forward(x, t, None, -100, 0.0, True)
    assert x.size <= kernels.SMALL
    for a, b in zip(small, general):
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
