"""The newer nn layers and functional forms against torch: adaptive softmax, 3-D reflection and
circular padding, LP pooling in 1 and 3 dimensions, fractional max pooling, the triplet loss
with a custom distance, NLLLoss2d, lazy instance norms, CrossMapLRN2d, Gumbel-softmax, pdist,
the in-place activations, the ``*_with_indices`` pools and nn.init's deprecated names."""

import warnings

import numpy as np
import pytest
import torch

import ember
import ember.nn.functional as F
from tests.nn.helpers import check_gradcheck, compare_functions, compare_modules

RNG = np.random.default_rng(0)
TF = torch.nn.functional


def _randn(*shape):
    return RNG.standard_normal(shape)


# -- modules ---------------------------------------------------------------------------------


@pytest.mark.parametrize("head_bias", [False, True])
def test_adaptive_log_softmax_with_loss(head_bias):
    tmod = torch.nn.AdaptiveLogSoftmaxWithLoss(16, 20, [4, 9, 15], div_value=2.0,
                                               head_bias=head_bias)  # fmt: skip
    emod = ember.nn.AdaptiveLogSoftmaxWithLoss(16, 20, [4, 9, 15], div_value=2.0,
                                               head_bias=head_bias)  # fmt: skip
    target = np.array([0, 3, 5, 19, 10, 9, 16, 2])
    compare_modules(tmod, emod, [_randn(8, 16), target], call=lambda m, x, t: tuple(m(x, t)))
    x = _randn(8, 16)
    _close(emod.log_prob(ember.tensor(x)), tmod.log_prob(torch.tensor(x)))
    _close(emod.predict(ember.tensor(x)), tmod.predict(torch.tensor(x)))
    out_e = emod(ember.tensor(x[0]), ember.tensor(np.array(12)))
    out_t = tmod(torch.tensor(x[0]), torch.tensor(np.array(12)))
    _close(out_e.output, out_t.output)
    _close(out_e.loss, out_t.loss)


def test_adaptive_log_softmax_errors():
    with pytest.raises(ValueError, match="cutoffs"):
        ember.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [5, 3])
    with pytest.raises(ValueError, match="cutoffs"):
        ember.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [5, 10])
    mod = ember.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [5])
    with pytest.raises(RuntimeError, match=r"Target values should be in \[0, 9\]"):
        mod(ember.randn(2, 8), ember.tensor([1, 10]))
    with pytest.raises(RuntimeError, match="same size in the batch dimension"):
        mod(ember.randn(3, 8), ember.tensor([1, 2]))


def _close(e, t, rtol=1e-6, atol=1e-8):
    e_np, t_np = e.detach().numpy(), t.detach().numpy()
    assert e_np.shape == t_np.shape and e_np.dtype == t_np.dtype, (e_np.shape, t_np.shape)
    np.testing.assert_allclose(e_np, t_np, rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", ["ReflectionPad3d", "CircularPad3d"])
def test_3d_padding_layers(name):
    pad = (1, 2, 0, 1, 2, 1)
    compare_modules(getattr(torch.nn, name)(pad), getattr(ember.nn, name)(pad),
                    [_randn(2, 2, 3, 4, 5)])  # fmt: skip
    compare_modules(getattr(torch.nn, name)(1), getattr(ember.nn, name)(1), [_randn(2, 3, 3, 3)])
    assert repr(getattr(ember.nn, name)(1)) == repr(getattr(torch.nn, name)(1))


@pytest.mark.parametrize("norm_type", [1, 2, 3.5])
def test_lp_pool_1d_and_3d(norm_type):
    x1 = np.abs(_randn(2, 3, 11)) + 0.1
    compare_modules(torch.nn.LPPool1d(norm_type, 3, 2), ember.nn.LPPool1d(norm_type, 3, 2), [x1])
    compare_modules(torch.nn.LPPool1d(norm_type, 4, ceil_mode=True),
                    ember.nn.LPPool1d(norm_type, 4, ceil_mode=True), [x1])  # fmt: skip
    x3 = np.abs(_randn(2, 2, 5, 6, 7)) + 0.1
    compare_modules(torch.nn.LPPool3d(norm_type, (2, 3, 2)),
                    ember.nn.LPPool3d(norm_type, (2, 3, 2)), [x3])  # fmt: skip
    compare_functions(lambda x: TF.lp_pool3d(x, norm_type, 2, stride=1),
                      lambda x: F.lp_pool3d(x, norm_type, 2, stride=1), [x3[0]])  # fmt: skip
    assert repr(ember.nn.LPPool1d(norm_type, 3)) == repr(torch.nn.LPPool1d(norm_type, 3))


def test_lp_pool_odd_power_of_negative_sum_is_nan_as_torch():
    x = -np.ones((1, 1, 4))
    _close(F.lp_pool1d(ember.tensor(x), 3, 2), TF.lp_pool1d(torch.tensor(x), 3, 2))
    x2 = np.array([[[[-1.0, -2.0, 3.0, 1.0]]]])
    _close(F.lp_pool2d(ember.tensor(x2), 3, (1, 2)), TF.lp_pool2d(torch.tensor(x2), 3, (1, 2)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fractional_max_pool2d(dtype):
    x = _randn(2, 3, 11, 9)
    samples = RNG.random((2, 3, 2))
    for kw in (dict(output_size=(5, 4)), dict(output_ratio=(0.5, 0.6)), dict(output_size=1)):
        compare_modules(
            torch.nn.FractionalMaxPool2d(3, return_indices=True,
                                         _random_samples=torch.tensor(samples), **kw),
            ember.nn.FractionalMaxPool2d(3, return_indices=True,
                                         _random_samples=ember.tensor(samples), **kw),
            [x], dtype=dtype,
        )  # fmt: skip
    out, idx = F.fractional_max_pool2d_with_indices(
        ember.tensor(x[0]), (2, 3), output_size=(4, 4), _random_samples=ember.tensor(samples[:1])
    )
    out_t, idx_t = TF.fractional_max_pool2d_with_indices(
        torch.tensor(x[0]), (2, 3), output_size=(4, 4), _random_samples=torch.tensor(samples[:1])
    )
    _close(out, out_t)
    _close(idx, idx_t)


def test_fractional_max_pool3d():
    x = _randn(2, 2, 7, 8, 9)
    samples = RNG.random((2, 2, 3))
    compare_functions(
        lambda t: TF.fractional_max_pool3d(t, (2, 3, 2), output_size=(4, 3, 5),
                                           _random_samples=torch.tensor(samples)),
        lambda t: F.fractional_max_pool3d(t, (2, 3, 2), output_size=(4, 3, 5),
                                          _random_samples=ember.tensor(samples)),
        [x],
    )  # fmt: skip
    e = F.fractional_max_pool3d(ember.tensor(x), 2, output_ratio=0.5, return_indices=True,
                                _random_samples=ember.tensor(samples))  # fmt: skip
    t = TF.fractional_max_pool3d(torch.tensor(x), 2, output_ratio=0.5, return_indices=True,
                                 _random_samples=torch.tensor(samples))  # fmt: skip
    _close(e[0], t[0])
    _close(e[1], t[1])


def test_fractional_max_pool_random_and_errors():
    ember.manual_seed(0)
    x = ember.randn(2, 3, 10, 10, requires_grad=True)
    out, idx = F.fractional_max_pool2d(x, 2, output_size=5, return_indices=True)
    assert tuple(out.shape) == (2, 3, 5, 5)
    # every output is the input at its index, and the gradient lands on those positions
    flat = x.detach().reshape(2, 3, -1).numpy()
    np.testing.assert_array_equal(np.take_along_axis(flat, idx.reshape(2, 3, -1).numpy(), 2),
                                  out.detach().reshape(2, 3, -1).numpy())  # fmt: skip
    out.sum().backward()
    assert x.grad.sum().item() == 2 * 3 * 5 * 5
    with pytest.raises(RuntimeError, match="fractional_max_pool2d.*too large"):
        F.fractional_max_pool2d(x, 4, output_size=8)
    with pytest.raises(ValueError, match="output_size or an output_ratio"):
        F.fractional_max_pool2d(x, 2)
    with pytest.raises(ValueError, match="only one of"):
        ember.nn.FractionalMaxPool2d(2, output_size=3, output_ratio=0.5)
    with pytest.raises(RuntimeError, match="_random_samples"):
        F.fractional_max_pool2d(x, 2, output_size=3, _random_samples=ember.rand(1, 3, 2))


@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_triplet_margin_with_distance_loss(swap, reduction):
    a, p, n = _randn(5, 4), _randn(5, 4), _randn(5, 4)
    compare_modules(torch.nn.TripletMarginWithDistanceLoss(swap=swap, reduction=reduction),
                    ember.nn.TripletMarginWithDistanceLoss(swap=swap, reduction=reduction),
                    [a, p, n])  # fmt: skip

    def cos_t(x, y):
        return 1 - TF.cosine_similarity(x, y)

    def cos_e(x, y):
        return 1 - F.cosine_similarity(x, y)

    compare_functions(
        lambda *t: TF.triplet_margin_with_distance_loss(*t, distance_function=cos_t, margin=0.5,
                                                        swap=swap, reduction=reduction),
        lambda *t: F.triplet_margin_with_distance_loss(*t, distance_function=cos_e, margin=0.5,
                                                       swap=swap, reduction=reduction),
        [a, p, n],
    )  # fmt: skip


def test_triplet_margin_with_distance_loss_errors():
    x = ember.randn(3, 4)
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        F.triplet_margin_with_distance_loss(x, x, ember.randn(4))
    with pytest.raises(ValueError, match="margin"):
        ember.nn.TripletMarginWithDistanceLoss(margin=0)


def test_nll_loss_2d_warns_and_matches():
    with pytest.warns(FutureWarning, match="NLLLoss2d"):
        emod = ember.nn.NLLLoss2d()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        tmod = torch.nn.NLLLoss2d()
    x = np.log(RNG.dirichlet(np.ones(4), size=(2, 3, 5))).transpose(0, 3, 1, 2).copy()
    target = RNG.integers(0, 4, (2, 3, 5))
    compare_modules(tmod, emod, [x, target])


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_lazy_instance_norm(rank):
    shape = (2, 3) + (4, 5, 3)[:rank]
    x = _randn(*shape).astype(np.float32)
    emod = getattr(ember.nn, f"LazyInstanceNorm{rank}d")()
    tmod = getattr(torch.nn, f"LazyInstanceNorm{rank}d")()
    out_e, out_t = emod(ember.tensor(x)), tmod(torch.tensor(x))
    assert type(emod).__name__ == f"InstanceNorm{rank}d" == type(tmod).__name__
    assert emod.num_features == tmod.num_features == 3
    assert list(emod.state_dict()) == list(tmod.state_dict())
    _close(out_e, out_t, rtol=1e-5, atol=1e-5)
    _close(emod.running_mean, tmod.running_mean, rtol=1e-5, atol=1e-6)
    _close(emod.running_var, tmod.running_var, rtol=1e-5, atol=1e-6)
    compare_modules(getattr(torch.nn, f"InstanceNorm{rank}d")(3, affine=True,
                                                               track_running_stats=True),
                    emod, [x])  # fmt: skip


@pytest.mark.parametrize("size", [2, 3, 4, 5])
def test_cross_map_lrn2d(size):
    x = _randn(2, 7, 3, 4)
    compare_modules(torch.nn.CrossMapLRN2d(size, 0.1, 0.6, 2.0),
                    ember.nn.CrossMapLRN2d(size, 0.1, 0.6, 2.0), [x])  # fmt: skip
    assert repr(ember.nn.CrossMapLRN2d(size)) == repr(torch.nn.CrossMapLRN2d(size))
    with pytest.raises(ValueError, match="4D"):
        ember.nn.CrossMapLRN2d(size)(ember.randn(3, 4, 5))


# -- functional ------------------------------------------------------------------------------


def test_gumbel_softmax():
    ember.manual_seed(0)
    logits = ember.tensor(_randn(6, 5), requires_grad=True)
    soft = F.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(soft.sum(-1).detach().numpy(), np.ones(6), rtol=1e-12)
    ember.manual_seed(0)
    hard = F.gumbel_softmax(logits, tau=0.5, hard=True)
    h = hard.detach().numpy()
    assert set(np.unique(h)) <= {0.0, 1.0} and (h.sum(-1) == 1).all()
    np.testing.assert_array_equal(h.argmax(-1), soft.detach().numpy().argmax(-1))
    w = ember.tensor(_randn(6, 5))
    (g_hard,) = ember.autograd.grad((hard * w).sum(), logits)
    (g_soft,) = ember.autograd.grad((soft * w).sum(), logits)
    np.testing.assert_allclose(g_hard.numpy(), g_soft.numpy(), rtol=1e-12)  # straight-through
    # the noise follows Gumbel(0, 1): tau -> large flattens, the sample mean of argmax matches
    # softmax(logits) for tau = 1 (the Gumbel-max trick)
    ember.manual_seed(1)
    many = F.gumbel_softmax(ember.tensor(np.log([[0.1, 0.2, 0.7]]).repeat(20000, 0)), hard=True)
    np.testing.assert_allclose(many.mean(0).numpy(), [0.1, 0.2, 0.7], atol=0.015)


@pytest.mark.parametrize("p", [0, 1, 2, 3.5, float("inf")])
def test_pdist(p):
    x = _randn(6, 4)
    compare_functions(lambda t: TF.pdist(t, p), lambda t: F.pdist(t, p), [x])
    if p in (1, 2, 3.5):
        check_gradcheck(lambda t: F.pdist(t, p), [x])
    with pytest.raises(RuntimeError, match="pdist only supports 2D"):
        F.pdist(ember.randn(2, 3, 4), p)


def test_inplace_activations():
    x = _randn(3, 4)
    pairs = [
        (lambda t: F.celu_(t, 0.7), lambda t: TF.celu_(t, 0.7)),
        (F.selu_, TF.selu_),
        (lambda t: F.rrelu_(t, 0.1, 0.3), lambda t: TF.rrelu_(t, 0.1, 0.3)),
    ]
    for e_fn, t_fn in pairs:
        compare_functions(lambda t, f=t_fn: f(t * 1.0), lambda t, f=e_fn: f(t * 1.0), [x])
        e = ember.tensor(x)
        assert e_fn(e) is e
    ember.manual_seed(0)
    e = ember.tensor(x)
    F.rrelu_(e, 0.1, 0.3, training=True)
    slopes = e.numpy()[x < 0] / x[x < 0]
    assert ((slopes >= 0.1) & (slopes <= 0.3)).all()
    np.testing.assert_array_equal(e.numpy()[x >= 0], x[x >= 0])


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_pools_with_indices(rank):
    x = _randn(*((2, 3) + (7, 6, 5)[:rank]))
    name = f"max_pool{rank}d_with_indices"
    compare_functions(lambda t: getattr(TF, name)(t, 2, 1, 1),
                      lambda t: getattr(F, name)(t, 2, 1, 1), [x])  # fmt: skip
    name = f"adaptive_max_pool{rank}d_with_indices"
    compare_functions(lambda t: getattr(TF, name)(t, 3), lambda t: getattr(F, name)(t, 3), [x])


@pytest.mark.parametrize(
    "name", ["uniform", "normal", "constant", "xavier_uniform", "xavier_normal", "kaiming_uniform",
             "kaiming_normal", "orthogonal", "sparse", "dirac"],
)  # fmt: skip
def test_init_deprecated_aliases(name):
    args = {"constant": (0.5,), "sparse": (0.5,)}.get(name, ())
    shape = (4, 3, 3) if name == "dirac" else (4, 3)
    ember.manual_seed(3)
    with pytest.warns(FutureWarning, match=f"nn.init.{name}` is now deprecated in favor of "
                                           f"`nn.init.{name}_`"):  # fmt: skip
        old = getattr(ember.nn.init, name)(ember.empty(*shape), *args)
    ember.manual_seed(3)
    new = getattr(ember.nn.init, f"{name}_")(ember.empty(*shape), *args)
    np.testing.assert_array_equal(old.numpy(), new.numpy())
    assert getattr(ember.nn.init, name).__name__ == getattr(torch.nn.init, name).__name__


def test_torch_level_names():
    x = _randn(5, 3)
    _close(ember.pdist(ember.tensor(x), 1.5), torch.pdist(torch.tensor(x), 1.5))
    for name in ("celu_", "selu_", "rrelu_"):
        e, t = ember.tensor(x), torch.tensor(x)
        getattr(ember, name)(e)
        getattr(torch, name)(t)
        _close(e, t)
    y = _randn(1, 2, 4, 4, 4)
    _close(ember.max_pool3d(ember.tensor(y), 2), torch.max_pool3d(torch.tensor(y), 2))
    for e, t in zip(ember.max_pool1d_with_indices(ember.tensor(x[None]), 2),
                    torch.max_pool1d_with_indices(torch.tensor(x[None]), 2)):  # fmt: skip
        _close(e, t)


def test_rrelu_in_training_writes_in_place_as_torch():
    results = []
    for lib in (torch, ember):
        x = lib.tensor([-1.0, 2.0, -3.0, 0.5], requires_grad=True)
        y = x * 1
        out = lib.nn.functional.rrelu(y, training=True, inplace=True)
        out.sum().backward()
        negative = x.grad[[0, 2]]
        results.append((out is y, bool(((negative >= 1 / 8) & (negative <= 1 / 3)).all()),
                        x.grad[[1, 3]].tolist(), y.tolist()[1]))  # fmt: skip
    assert results[0] == results[1]
