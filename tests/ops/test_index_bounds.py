"""Indices outside a dimension and integer division by zero: PyTorch's error type, a message
naming the op, the bad index and the size; and the same values where PyTorch accepts them."""

import numpy as np
import pytest
import torch

import ember


def _embedding_bag(lib, index):
    return lib.nn.functional.embedding_bag(lib.tensor(index), lib.zeros(10, 3), lib.tensor([0]))


def _multilabel(lib, target):
    return lib.nn.functional.multilabel_margin_loss(lib.zeros(2, 3), lib.tensor(target))


# (name, fn(lib), fragments the ember message must contain)
REJECTED = [
    ("embedding_negative", lambda lib: lib.nn.Embedding(10, 3)(lib.tensor([-1])),
     ["embedding", "index -1", "10 rows"]),
    ("embedding_too_large", lambda lib: lib.nn.Embedding(10, 3)(lib.tensor([[1, 10]])),
     ["embedding", "index 10", "10 rows"]),
    ("functional_embedding_negative",
     lambda lib: lib.nn.functional.embedding(lib.tensor([2, -3]), lib.zeros(4, 2)),
     ["embedding", "index -3", "4 rows"]),
    ("embedding_bag_negative", lambda lib: _embedding_bag(lib, [-1, 2]), ["-1", "[0, 10)"]),
    ("embedding_bag_too_large", lambda lib: _embedding_bag(lib, [3, 10]), ["10", "[0, 10)"]),
    ("gather_negative", lambda lib: lib.zeros(3, 4).gather(1, lib.tensor([[0, -1]])),
     ["gather", "index -1", "dimension 1", "size 4"]),
    ("gather_too_large", lambda lib: lib.zeros(3, 4).gather(0, lib.tensor([[3]])),
     ["gather", "index 3", "dimension 0", "size 3"]),
    ("scatter_negative", lambda lib: lib.zeros(3, 4).scatter(1, lib.tensor([[-1]]), 1.0),
     ["scatter", "index -1", "size 4"]),
    ("scatter_add_negative",
     lambda lib: lib.zeros(3, 4).scatter_add(1, lib.tensor([[-2]]), lib.ones(1, 1)),
     ["scatter_add", "index -2", "size 4"]),
    ("scatter_reduce_too_large",
     lambda lib: lib.zeros(3, 4).scatter_reduce(0, lib.tensor([[5]]), lib.ones(1, 1), "amax"),
     ["scatter_reduce", "index 5", "size 3"]),
    ("index_select_negative", lambda lib: lib.zeros(3, 4).index_select(0, lib.tensor([-1])),
     ["index_select", "index -1", "size 3"]),
    ("index_select_too_large",
     lambda lib: lib.zeros(3, 4, 2).index_select(2, lib.tensor([0, 2])),
     ["index_select", "index 2", "dimension 2", "size 2"]),
    ("index_add_negative",
     lambda lib: lib.zeros(3, 4).index_add(0, lib.tensor([-1]), lib.ones(1, 4)),
     ["index_add", "index -1", "size 3"]),
    ("index_copy_negative",
     lambda lib: lib.zeros(3, 4).index_copy(0, lib.tensor([-1]), lib.ones(1, 4)),
     ["index_copy", "index -1", "size 3"]),
    ("index_fill_too_negative", lambda lib: lib.zeros(3, 4).index_fill(0, lib.tensor([-4]), 1.0),
     ["index_fill", "index -4", "size 3"]),
    ("index_fill_too_large", lambda lib: lib.zeros(3, 4).index_fill(0, lib.tensor([3]), 1.0),
     ["index_fill", "index 3", "size 3"]),
    ("take_too_large", lambda lib: lib.arange(6).take(lib.tensor([6])), ["take", "6 elements"]),
    ("take_too_negative", lambda lib: lib.arange(6).take(lib.tensor([-7])), ["-7", "6"]),
    ("take_along_dim_flat_negative",
     lambda lib: lib.take_along_dim(lib.arange(6).view(2, 3), lib.tensor([-1])),
     ["index -1", "size 6"]),
    ("one_hot_negative", lambda lib: lib.nn.functional.one_hot(lib.tensor([0, -1]), 3),
     ["one_hot", "non-negative", "-1"]),
    ("one_hot_too_large", lambda lib: lib.nn.functional.one_hot(lib.tensor([3]), 3),
     ["one_hot", "num_classes", "3"]),
    ("one_hot_empty_without_classes",
     lambda lib: lib.nn.functional.one_hot(lib.tensor([], dtype=lib.int64)), ["empty"]),
    ("embedding_padding_idx_too_large", lambda lib: lib.nn.functional.embedding(
        lib.tensor([1]), lib.zeros(4, 2), padding_idx=4), ["Padding_idx", "padding_idx=4"]),
    ("embedding_padding_idx_too_negative", lambda lib: lib.nn.functional.embedding(
        lib.tensor([1]), lib.zeros(4, 2), padding_idx=-5), ["Padding_idx", "4 rows"]),
    ("take_float_index", lambda lib: lib.zeros(3).take(lib.tensor([0.0])), ["take", "long"]),
    ("scatter_uint8_index", lambda lib: lib.zeros(3).scatter(0, lib.tensor([0], dtype=lib.uint8),
                                                              1.0), ["scatter", "int32/int64"]),
    ("nll_loss_too_large",
     lambda lib: lib.nn.functional.nll_loss(lib.zeros(2, 3), lib.tensor([0, 3])),
     ["nll_loss", "Target 3", "out of bounds"]),
    ("nll_loss_negative",
     lambda lib: lib.nn.functional.nll_loss(lib.zeros(2, 3), lib.tensor([0, -1])),
     ["nll_loss", "Target -1"]),
    ("cross_entropy_negative",
     lambda lib: lib.nn.functional.cross_entropy(lib.zeros(2, 3), lib.tensor([0, -2])),
     ["cross_entropy", "Target -2"]),
    ("cross_entropy_spatial_too_large",
     lambda lib: lib.nn.functional.cross_entropy(lib.zeros(1, 3, 2), lib.tensor([[0, 3]])),
     ["cross_entropy", "Target 3"]),
    ("multi_margin_too_large",
     lambda lib: lib.nn.functional.multi_margin_loss(lib.zeros(2, 3), lib.tensor([0, 3])),
     ["multi_margin_loss", "target out of range", "3"]),
    ("multi_margin_negative",
     lambda lib: lib.nn.functional.multi_margin_loss(lib.zeros(2, 3), lib.tensor([-1, 0])),
     ["multi_margin_loss", "-1"]),
    ("multilabel_margin_too_large", lambda lib: _multilabel(lib, [[0, 3, -1], [0, 1, -1]]),
     ["multilabel_margin_loss", "target 3", "3 classes"]),
    ("multilabel_margin_below_minus_one", lambda lib: _multilabel(lib, [[0, -2, -1], [1, -1, 0]]),
     ["multilabel_margin_loss", "target -2"]),
]  # fmt: skip


def _expected_type(fn):
    with pytest.raises(Exception) as ref:
        fn(torch)
    return next(c for c in ref.type.__mro__ if c.__module__ == "builtins")


@pytest.mark.parametrize("fn,fragments", [pytest.param(f, m, id=n) for n, f, m in REJECTED])
def test_out_of_range_index_is_rejected_as_in_torch(fn, fragments):
    with pytest.raises(_expected_type(fn)) as got:
        fn(ember)
    for fragment in fragments:
        assert fragment in str(got.value), f"{fragment!r} not in {str(got.value)!r}"


# Negative indices PyTorch accepts (they count from the end): the same values in ember.
ACCEPTED = [
    ("index_fill_negative", lambda lib: lib.zeros(3, 4).index_fill(0, lib.tensor([-1, -3]), 2.0)),
    ("take_negative", lambda lib: lib.arange(6).take(lib.tensor([[-1, -6]]))),
    ("take_along_dim_negative",
     lambda lib: lib.take_along_dim(lib.arange(6).view(2, 3), lib.tensor([[-1], [-3]]), 1)),
    ("getitem_negative", lambda lib: lib.arange(6).view(2, 3)[lib.tensor([-1, 0])]),
    ("nll_loss_ignored_negative", lambda lib: lib.nn.functional.nll_loss(
        lib.zeros(2, 3), lib.tensor([0, -1]), ignore_index=-1)),
    ("scatter_int32_index", lambda lib: lib.zeros(3).scatter(
        0, lib.tensor([2, 0], dtype=lib.int32), 1.0)),
    ("embedding_negative_padding_idx", lambda lib: lib.nn.functional.embedding(
        lib.tensor([3, 1]), lib.arange(8.0).view(4, 2), padding_idx=-1)),
]  # fmt: skip


@pytest.mark.parametrize("fn", [pytest.param(f, id=n) for n, f in ACCEPTED])
def test_negative_index_accepted_where_torch_accepts_it(fn):
    np.testing.assert_array_equal(fn(ember).numpy(), fn(torch).numpy())


def test_embedding_gradient_unchanged_by_the_bounds_check():
    idx = np.array([[0, 9, 9], [4, 0, 2]])
    weight = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32)
    grads = []
    for lib in (torch, ember):
        w = lib.tensor(weight, requires_grad=True)
        (lib.nn.functional.embedding(lib.tensor(idx), w) ** 2).sum().backward()
        grads.append(w.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-6)


def test_ctc_target_outside_the_classes_is_rejected():
    """PyTorch reads past the class axis here (its result is garbage); ember refuses."""
    log_probs = ember.zeros(5, 1, 3).log_softmax(2)
    with pytest.raises(IndexError, match="ctc_loss: target 4 .* 3 classes"):
        ember.nn.functional.ctc_loss(
            log_probs, ember.tensor([[1, 4]]), ember.tensor([5]), ember.tensor([2])
        )


DIVISIONS = [
    ("floordiv_tensor", lambda lib: lib.tensor([1, 2]) // lib.tensor([1, 0])),
    ("floordiv_scalar", lambda lib: lib.tensor([1]) // 0),
    ("rfloordiv", lambda lib: 5 // lib.tensor([0])),
    ("mod_scalar", lambda lib: lib.tensor([5]) % 0),
    ("rmod", lambda lib: 5 % lib.tensor([3, 0])),
    ("remainder_tensor", lambda lib: lib.remainder(lib.tensor([5]), lib.tensor([0]))),
    ("fmod_scalar", lambda lib: lib.fmod(lib.tensor([5]), 0)),
    ("fmod_tensor", lambda lib: lib.tensor([5, 1]).fmod(lib.tensor([0, 1]))),
    ("floor_divide_fn", lambda lib: lib.floor_divide(lib.tensor([5]), 0)),
    ("div_floor", lambda lib: lib.div(lib.tensor([5]), 0, rounding_mode="floor")),
    ("div_trunc", lambda lib: lib.div(lib.tensor([5]), lib.tensor([0]), rounding_mode="trunc")),
    ("uint8_mod", lambda lib: lib.tensor([5], dtype=lib.uint8) % 0),
    ("int32_floordiv", lambda lib: lib.tensor([5], dtype=lib.int32) // lib.tensor([0],
                                                                                 dtype=lib.int32)),
    ("ifloordiv", lambda lib: lib.tensor([5]).__ifloordiv__(0)),
    ("imod", lambda lib: lib.tensor([5]).__imod__(lib.tensor([0]))),
    ("remainder_", lambda lib: lib.tensor([5]).remainder_(0)),
    ("fmod_", lambda lib: lib.tensor([5]).fmod_(0)),
    ("floor_divide_", lambda lib: lib.tensor([5]).floor_divide_(lib.tensor(0))),
    ("div_floor_", lambda lib: lib.tensor([5]).div_(0, rounding_mode="floor")),
]  # fmt: skip


@pytest.mark.parametrize("fn", [pytest.param(f, id=n) for n, f in DIVISIONS])
def test_integer_division_by_zero_raises(fn):
    with pytest.raises(_expected_type(fn), match="ZeroDivisionError"):
        fn(ember)


# Division by zero that PyTorch answers: floats give inf/nan; empty tensors divide nothing.
DIVISIONS_ANSWERED = [
    ("float_floordiv", lambda lib: lib.tensor([5.0, -1.0, 0.0]) // 0),
    ("int_by_float_zero", lambda lib: lib.tensor([5]) % 0.0),
    ("true_div", lambda lib: lib.tensor([5]) / lib.tensor([0])),
    ("empty_int", lambda lib: lib.tensor([], dtype=lib.int64) // 0),
    ("empty_broadcast", lambda lib: lib.zeros(0, 1, dtype=lib.int64) % lib.tensor([0, 1])),
    ("nonzero_int", lambda lib: lib.tensor([-7, 7]) // lib.tensor([2, -2])),
]  # fmt: skip


@pytest.mark.parametrize("fn", [pytest.param(f, id=n) for n, f in DIVISIONS_ANSWERED])
def test_division_answered_as_in_torch(fn):
    want = fn(torch)
    got = fn(ember)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_bool_floor_divide_is_not_implemented():
    with pytest.raises(NotImplementedError, match="Bool"):
        ember.tensor([True]) // ember.tensor([True])
