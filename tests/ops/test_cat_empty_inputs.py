"""cat skips 1-d empty inputs of shape (0,) whatever the other inputs' rank (a growing
key/value cache starts as one), while still taking part in dtype promotion."""

import numpy as np
import pytest
import torch

import ember

CASES = [
    ("kv_cache_start", lambda lib: lib.cat([lib.tensor([]), lib.ones(1, 2, 3, 4)], dim=-2)),
    ("empty_last", lambda lib: lib.cat([lib.arange(6.0).view(2, 3), lib.tensor([])], dim=1)),
    ("empty_middle", lambda lib: lib.cat([lib.ones(2, 2), lib.tensor([]), lib.zeros(1, 2)])),
    ("only_empty", lambda lib: lib.cat([lib.tensor([]), lib.tensor([])])),
    ("promotes_int_to_float",
     lambda lib: lib.cat([lib.tensor([]), lib.ones(1, 2, dtype=lib.int64)])),
    ("promotes_to_float64",
     lambda lib: lib.cat([lib.ones(1, 2, dtype=lib.int64), lib.tensor([], dtype=lib.float64)])),
    ("empty_int_keeps_float", lambda lib: lib.cat([lib.tensor([], dtype=lib.int32),
                                                    lib.ones(2, 1)], dim=1)),
    ("stack_empty_pair", lambda lib: lib.stack([lib.tensor([]), lib.tensor([], dtype=lib.int64)])),
    ("stack_promotes", lambda lib: lib.stack([lib.ones(2, dtype=lib.int64), lib.ones(2)], dim=1)),
]  # fmt: skip


@pytest.mark.parametrize("fn", [pytest.param(f, id=n) for n, f in CASES])
def test_cat_with_empty_inputs_matches_torch(fn):
    want, got = fn(torch), fn(ember)
    assert tuple(got.shape) == tuple(want.shape)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_skipped_empty_input_gets_an_empty_gradient():
    out = []
    for lib in (torch, ember):
        a = lib.tensor([], requires_grad=True)
        b = lib.ones(1, 2, 3, 4, requires_grad=True)
        (lib.cat([a, b], dim=-2) * 3).sum().backward()
        out.append((tuple(a.grad.shape), b.grad.numpy()))
    assert out[1][0] == out[0][0]
    np.testing.assert_array_equal(out[1][1], out[0][1])


def test_cat_still_checks_sizes_of_non_empty_inputs():
    with pytest.raises(RuntimeError, match="Sizes of tensors must match"):
        ember.cat([ember.zeros(0, 3), ember.ones(2, 4)])
