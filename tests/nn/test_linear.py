"""Linear, Bilinear, Flatten, Dropout, Embedding and small functionals against torch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
import ember.nn.functional as EF
from tests.nn.helpers import check_gradcheck, compare_functions, compare_modules

rng = np.random.default_rng(0)
DTYPES = ["float32", "float64"]


def both(name, *args, **kwargs):
    return getattr(torch.nn, name)(*args, **kwargs), getattr(ember.nn, name)(*args, **kwargs)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5,), (4, 5), (2, 3, 5), (0, 5)], ids=str)
def test_linear(shape, bias, dtype):
    t, e = both("Linear", 5, 3, bias=bias)
    assert repr(e) == repr(t)
    compare_modules(t, e, [rng.standard_normal(shape)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bilinear(dtype):
    t, e = both("Bilinear", 3, 4, 2)
    assert repr(e) == repr(t)
    compare_modules(t, e, [rng.standard_normal((5, 3)), rng.standard_normal((5, 4))], dtype)
    compare_modules(t, e, [rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 5, 4))])


@pytest.mark.parametrize("needs", [(True, False, False), (False, True, True), (True, True, False)])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_linear_gradients_of_what_requires_them(needs, dtype):
    arrays = [rng.standard_normal(s).astype(np.float32) for s in ((2, 6, 5), (3, 5), (3,))]
    grads = []
    for lib, functional in ((torch, TF), (ember, EF)):
        x, w, b = (
            lib.tensor(a).to(getattr(lib, dtype)).requires_grad_(need)
            for a, need in zip(arrays, needs)
        )
        out = functional.linear(x, w, b)
        out.backward(lib.ones_like(out))
        grads.append([t.grad for t in (x, w, b)])
    for t_grad, e_grad in zip(*grads):
        assert (t_grad is None) == (e_grad is None)
        if t_grad is not None:
            assert str(e_grad.dtype).split(".")[1] == str(t_grad.dtype).split(".")[1]
            expected = t_grad.float().numpy()
            np.testing.assert_allclose(e_grad.float().numpy(), expected, rtol=2e-2, atol=2e-2)


def test_linear_gradcheck_and_double_backward():
    w, b = rng.standard_normal((3, 4)), rng.standard_normal(3)
    check_gradcheck(EF.linear, [rng.standard_normal((2, 4)), w, b], second_order=True)
    shapes = [(2, 3), (2, 2), (2, 3, 2), (2,)]
    check_gradcheck(EF.bilinear, [rng.standard_normal(s) for s in shapes])


def test_linear_errors_name_the_shapes():
    m = ember.nn.Linear(5, 3)
    with pytest.raises(RuntimeError, match=r"4x6 and 5x3"):
        m(ember.randn(4, 6))
    with pytest.raises(RuntimeError, match="dtype"):
        m(ember.randn(4, 5, dtype=ember.float64))


def test_default_initialisation_bounds_follow_torch():
    m = ember.nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)  # kaiming-uniform with a=sqrt(5) gives the same bound
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert np.abs(b).max() <= bound
    np.testing.assert_allclose(w.std(), bound / np.sqrt(3), rtol=0.02)
    bl = ember.nn.Bilinear(50, 20, 10)
    assert np.abs(bl.weight.detach().numpy()).max() <= 1 / np.sqrt(50)
    emb = ember.nn.Embedding(1000, 64)
    np.testing.assert_allclose(emb.weight.detach().numpy().std(), 1.0, rtol=0.02)
    ember.manual_seed(3)
    a = ember.nn.Linear(4, 4).weight.detach().numpy()
    ember.manual_seed(3)
    np.testing.assert_array_equal(ember.nn.Linear(4, 4).weight.detach().numpy(), a)
    assert ember.nn.Linear(2, 2, dtype=ember.float64).weight.dtype == ember.float64


@pytest.mark.parametrize(
    "name,args,shape",
    [("Identity", (3, "x"), (2, 3)), ("Flatten", (), (2, 3, 4, 5)),
     ("Flatten", (0, 2), (2, 3, 4, 5)), ("Unflatten", (1, (2, 6)), (3, 12, 2)),
     ("Unflatten", (-1, (3, -1)), (2, 12))],
)  # fmt: skip
def test_shape_layers(name, args, shape):
    t, e = both(name, *args)
    assert repr(e) == repr(t)
    compare_modules(t, e, [rng.standard_normal(shape)])


DROPOUTS = [
    ("Dropout", (40, 50)), ("Dropout1d", (20, 30, 4)), ("Dropout2d", (20, 30, 3, 3)),
    ("Dropout3d", (20, 30, 2, 2, 2)), ("Dropout2d", (30, 3, 3)), ("AlphaDropout", (40, 50)),
]  # fmt: skip


@pytest.mark.parametrize("name,shape", DROPOUTS)
def test_dropout_family(name, shape):
    t, e = both(name, 0.3)
    assert repr(e) == repr(t)
    x = ember.tensor(rng.standard_normal(shape) + 3, requires_grad=True)
    y = e(x)
    y.sum().backward()
    keep = x.grad.numpy() != 0
    if name != "AlphaDropout":
        np.testing.assert_allclose(y.detach().numpy()[keep], x.detach().numpy()[keep] / 0.7)
        np.testing.assert_allclose(x.grad.numpy()[keep], 1 / 0.7)
        assert (y.detach().numpy()[~keep] == 0).all()
    else:  # dropped units take a fixed value, and mean and variance are kept
        z = e(ember.randn(200000)).numpy()
        assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02
    if name in ("Dropout1d", "Dropout2d", "Dropout3d"):  # whole channels at once
        flat = keep.reshape(
            *keep.shape[: keep.ndim - (len(shape) - 2 if len(shape) > 3 else 1)], -1
        )
        assert (flat.all(-1) | ~flat.any(-1)).all()
    assert 0.6 < keep.mean() < 0.8
    e.eval()
    assert e(x) is x


def test_dropout_is_reproducible_under_manual_seed_and_checks_p():
    ember.manual_seed(0)
    a = EF.dropout(ember.ones(100), 0.5).numpy()
    ember.manual_seed(0)
    np.testing.assert_array_equal(EF.dropout(ember.ones(100), 0.5).numpy(), a)
    assert (EF.dropout(ember.ones(5), 1.0).numpy() == 0).all()
    with pytest.raises(ValueError, match="probability"):
        ember.nn.Dropout(1.5)
    x = ember.ones(10, requires_grad=True) * 1
    assert EF.dropout(x, 0.5, inplace=True) is x


@pytest.mark.parametrize("dtype", DTYPES)
def test_embedding(dtype):
    t, e = both("Embedding", 7, 3, padding_idx=2)
    assert repr(e) == repr(t)
    compare_modules(t, e, [np.array([[1, 2, 1], [6, 0, 1]])], dtype)
    t, e = both("Embedding", 10, 4, max_norm=1.0)
    compare_modules(t, e, [np.array([1, 3, 3, 9])], dtype)
    for name in ("weight",):  # max_norm renormalises the used rows in place, as torch
        np.testing.assert_allclose(
            e.weight.detach().numpy(), t.weight.detach().numpy(), rtol=1e-5, err_msg=name
        )


def test_embedding_from_pretrained_and_errors():
    w = rng.standard_normal((4, 2))
    t = torch.nn.Embedding.from_pretrained(torch.tensor(w), padding_idx=1)
    e = ember.nn.Embedding.from_pretrained(ember.tensor(w), padding_idx=1)
    assert repr(e) == repr(t) and not e.weight.requires_grad
    idx = [0, 3, 1]
    np.testing.assert_array_equal(e(ember.tensor(idx)).numpy(), t(torch.tensor(idx)).numpy())
    with pytest.raises(IndexError, match="out of range"):
        e(ember.tensor([4]))
    with pytest.raises(RuntimeError, match="Long"):
        e(ember.tensor([0.0]))


def test_one_hot_normalize_cosine_and_pairwise():
    idx = np.array([[0, 3], [2, 1]])
    np.testing.assert_array_equal(
        EF.one_hot(ember.tensor(idx)).numpy(), TF.one_hot(torch.tensor(idx)).numpy()
    )
    assert EF.one_hot(ember.tensor(idx), 6).shape == (2, 2, 6)
    with pytest.raises(RuntimeError):
        EF.one_hot(ember.tensor(idx), 3)
    x, y = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    x[1] = 0  # the eps floors
    for kw in ({}, {"p": 1.0, "dim": 0}):
        compare_functions(
            lambda a, kw=kw: TF.normalize(a, **kw), lambda a, kw=kw: EF.normalize(a, **kw), [x]
        )
    compare_functions(TF.cosine_similarity, EF.cosine_similarity, [x, y])
    compare_functions(
        lambda a, b: TF.cosine_similarity(a, b, dim=0),
        lambda a, b: EF.cosine_similarity(a, b, dim=0),
        [x, y[:1]],
    )
    for p in (2.0, 1.0, 3.0):
        compare_functions(
            lambda a, b, p=p: TF.pairwise_distance(a, b, p),
            lambda a, b, p=p: EF.pairwise_distance(a, b, p),
            [x, y],
        )
