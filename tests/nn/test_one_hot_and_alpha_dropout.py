"""``one_hot`` and ``alpha_dropout`` against torch: values and shapes on cpu and meta, and
``alpha_dropout(inplace=True)`` writing into its input."""

import numpy as np
import pytest
import torch

import ember


@pytest.mark.parametrize(
    "indices, num_classes",
    [([3, 0, 2], -1), ([[1, 0], [3, 2]], 5), ([], 4), ([[[0]]], 1)],
)
def test_one_hot_matches_torch(indices, num_classes):
    def run(m):
        return m.nn.functional.one_hot(m.tensor(indices, dtype=m.int64), num_classes)

    e, t = run(ember), run(torch)
    assert e.dtype == ember.int64 and tuple(e.shape) == tuple(t.shape)
    assert e.tolist() == t.tolist()


@pytest.mark.parametrize("shape", [(3,), (0, 2), (2, 3)])
def test_one_hot_on_meta_gives_meta(shape):
    def run(m):
        return m.nn.functional.one_hot(m.empty(shape, dtype=m.int64, device="meta"), 5)

    e, t = run(ember), run(torch)
    assert e.is_meta and t.is_meta and tuple(e.shape) == tuple(t.shape)


def test_one_hot_on_meta_needs_num_classes():
    for m in (ember, torch):
        with pytest.raises(RuntimeError, match="item"):
            m.nn.functional.one_hot(m.empty(3, dtype=m.int64, device="meta"))


@pytest.mark.parametrize("lib", [ember, torch])
def test_alpha_dropout_in_place_writes_into_its_input(lib):
    x = lib.randn(200, 50)
    before = x.clone()
    out = lib.nn.functional.alpha_dropout(x, 0.3, training=True, inplace=True)
    assert out is x
    assert not np.array_equal(x.numpy(), before.numpy())


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_alpha_dropout_keeps_mean_and_variance(p):
    """Self-normalising: unit-normal input keeps mean 0 and variance 1 (both libraries)."""
    for lib in (ember, torch):
        lib.manual_seed(0)
        y = lib.nn.functional.alpha_dropout(lib.randn(400, 500), p, training=True)
        assert abs(float(y.mean())) < 0.02 and abs(float(y.var()) - 1) < 0.03
