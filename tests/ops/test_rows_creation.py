"""Op table: factories, their dtype inference and defaults, the *_like forms, conversions."""

import numpy as np
import pytest

import ember
from tests.ops.optable import Row, cases, check_row
from tests.ops.samples import bools, ints, r, reseed

reseed(7)

NONE = dict(dtypes=(None,), grad=False)
EMPTY = [()]  # rows whose op takes no tensor input
# NumPy arrays given to the factories themselves: the dtype each one infers is checked.
ARRAYS = [r(2, 3), r(2, 3).astype(np.float32), r(3).astype(np.float16), ints(3, dtype=np.int32),
          ints(2, 2), ints(3, dtype=np.uint8, low=0), ints(3, dtype=np.int8), bools(2), bools(),
          ints(0), r(0, 2)]  # fmt: skip

ROWS = [
    Row("zeros_ones_empty_shape", lambda lib: (lib.zeros(2, 3), lib.ones((2,)), lib.zeros(()),
                                               lib.ones(0, 3, dtype=lib.int32),
                                               lib.empty(2, 3).shape and lib.zeros(1)),
        EMPTY, **NONE),
    Row("full", lambda lib: (lib.full((2, 3), 1.5), lib.full((2,), 7), lib.full((2,), True),
                             lib.full((1, 2), 2, dtype=lib.float64)), EMPTY, **NONE),
    Row("arange", lambda lib: (lib.arange(5), lib.arange(1, 4), lib.arange(0, 1, 0.25),
                               lib.arange(10, 0, -3), lib.arange(3, dtype=lib.float32),
                               lib.arange(0.5, 3)), EMPTY, **NONE),
    Row("linspace_logspace", lambda lib: (lib.linspace(0, 1, 5), lib.linspace(-2, 2, 1),
                                          lib.linspace(0, 10, 4, dtype=lib.float64),
                                          lib.logspace(0, 2, 3), lib.logspace(0, 3, 4, base=2)),
        EMPTY, **NONE),
    Row("eye", lambda lib: (lib.eye(3), lib.eye(2, 4), lib.eye(3, dtype=lib.int64)), EMPTY,
        **NONE),
    Row("tensor_inference", lambda lib: (lib.tensor(1), lib.tensor(2.5), lib.tensor(True),
                                         lib.tensor([1, 2]), lib.tensor([1, 2.5]),
                                         lib.tensor([[True, False]]), lib.tensor([]),
                                         lib.tensor(np.float64(1.5)), lib.tensor(np.int32(3)),
                                         lib.tensor([1, 2], dtype=lib.float64)), EMPTY, **NONE),
    Row("tensor_from_arrays", lambda lib: [
        (lib.tensor(a), lib.as_tensor(a), lib.tensor(a, dtype=lib.float64), lib.tensor(a.T))
        for a in ARRAYS], EMPTY, **NONE),
    Row("tensor_from_tensors", lambda lib, a: (lib.as_tensor(a), lib.as_tensor(a, dtype=lib.int64),
                                               a.new_tensor([1, 2]), a.new_zeros(2, 1),
                                               a.new_ones(3), a.new_full((2,), 4)),
        [(r(2, 3),), (ints(3),)], **NONE),
    Row("like", lambda lib, a: (lib.zeros_like(a), lib.ones_like(a), lib.full_like(a, 3),
                                lib.full_like(a, 2.5, dtype=lib.float64),
                                lib.zeros_like(a, dtype=lib.int32), lib.empty_like(a).shape and
                                lib.ones_like(a)),
        [(r(2, 3),), (ints(4),), (r(),)], **NONE),
    Row("conversions", lambda lib, a: (a.float(), a.double(), a.half(), a.long(), a.int(),
                                       a.bool(), a.to(lib.int16), a.to(lib.uint8).to(lib.int8),
                                       a.type(lib.float64), a.clone(), a.contiguous()),
        [(r(2, 3) * 3,), (ints(5),)], **NONE),
    Row("tril_triu_indices", lambda lib: (lib.tril_indices(3, 4), lib.triu_indices(4, 3, 1)),
        EMPTY, **NONE),
    # Through float32 finite differences are too coarse: backward vs torch only.
    Row("to_float_is_differentiable", lambda lib, a: (a.double() * 2, a.to(lib.float32) * 3),
        [(r(2, 3),)], gradcheck=False, double_backward=True),
]  # fmt: skip


@pytest.mark.parametrize("row,sample", cases(ROWS))
def test_row(row, sample):
    check_row(row, sample)


def test_default_dtype_follows_set_default_dtype():
    import torch

    try:
        for lib in (torch, ember):
            lib.set_default_dtype(lib.float64)
        for lib in (torch, ember):
            assert str(lib.zeros(2).dtype).endswith("float64")
            assert str(lib.tensor([1.5]).dtype).endswith("float64")
            assert str(lib.arange(0.0, 1.0, 0.5).dtype).endswith("float64")
            assert str((lib.tensor([1]) * 2.5).dtype).endswith("float64")
            assert str(lib.get_default_dtype()).endswith("float64")
    finally:
        for lib in (torch, ember):
            lib.set_default_dtype(lib.float32)


def test_from_numpy_shares_memory():
    a = np.zeros(3)
    t = ember.from_numpy(a)
    t.add_(1.0)
    np.testing.assert_array_equal(a, [1.0, 1.0, 1.0])
    assert t.dtype is ember.float64


@pytest.mark.parametrize("factory", ["rand", "randn"])
def test_random_factories_shape_dtype_and_seed(factory):
    ember.manual_seed(3)
    a = getattr(ember, factory)(200, 50)
    ember.manual_seed(3)
    b = getattr(ember, factory)(200, 50)
    assert a.shape == (200, 50) and a.dtype is ember.float32
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    v = a.numpy()
    if factory == "rand":
        assert v.min() >= 0 and v.max() < 1 and abs(v.mean() - 0.5) < 0.02
    else:
        assert abs(v.mean()) < 0.03 and abs(v.std() - 1) < 0.03


def test_randint_randperm_normal_bernoulli_multinomial():
    ember.manual_seed(0)
    x = ember.randint(2, 7, (1000,))
    assert x.dtype is ember.int64 and x.min().item() >= 2 and x.max().item() <= 6
    p = ember.randperm(10)
    assert p.dtype is ember.int64 and sorted(p.tolist()) == list(range(10))
    n = ember.normal(2.0, 3.0, size=(4000,))
    assert abs(n.mean().item() - 2.0) < 0.2 and abs(n.std().item() - 3.0) < 0.2
    b = ember.bernoulli(ember.full((4000,), 0.25))
    assert b.dtype is ember.float32 and abs(b.mean().item() - 0.25) < 0.03
    m = ember.multinomial(ember.tensor([0.0, 1.0, 3.0]), 400, replacement=True)
    counts = np.bincount(m.numpy(), minlength=3)
    assert counts[0] == 0 and 0.65 < counts[2] / 400 < 0.85
