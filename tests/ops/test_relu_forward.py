"""relu's forward against PyTorch: NaN, signed zero, dtypes, layouts and gradients."""

import numpy as np
import pytest
import torch

import ember


def _pair(values, dtype):
    array = np.asarray(values, dtype=dtype)
    return ember.tensor(array), torch.tensor(array)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_keeps_nan_and_signed_zero(dtype):
    ours, theirs = _pair([np.nan, -0.0, 0.0, -1.5, 2.0, -np.inf, np.inf], dtype)
    got = ember.relu(ours).numpy()
    want = torch.relu(theirs).numpy()
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    assert got.dtype == want.dtype


def test_relu_integer_input():
    ours, theirs = _pair([-3, 0, 4], "int64")
    got = ember.relu(ours)
    np.testing.assert_array_equal(got.numpy(), torch.relu(theirs).numpy())
    assert got.dtype == ember.int64


def test_relu_rejects_bool_as_torch_does():
    with pytest.raises(RuntimeError) as theirs:
        torch.relu(torch.tensor([True, False]))
    with pytest.raises(RuntimeError, match="Boolean inputs not supported for relu") as ours:
        ember.relu(ember.tensor([True, False]))
    assert str(ours.value) == str(theirs.value)


def test_relu_large_strided_input_and_gradient():
    rng = np.random.default_rng(0)
    array = rng.standard_normal((300, 700)).astype(np.float32)  # above the threading size
    ours = ember.tensor(array, requires_grad=True)
    theirs = torch.tensor(array, requires_grad=True)
    got = ember.relu(ours.t())
    want = torch.relu(theirs.t())
    np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
    weight = rng.standard_normal((700, 300)).astype(np.float32)
    (got * ember.tensor(weight)).sum().backward()
    (want * torch.tensor(weight)).sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


def test_relu_split_over_threads_keeps_nan_and_signed_zero(monkeypatch):
    """Each thread zeroes its own piece of the output before taking the maximum."""
    from ember.backends.numpy import threads

    monkeypatch.setattr(threads, "_split_from", threads.MIN_ELEMENTS)
    before = ember.get_num_threads()
    ember.set_num_threads(2)
    try:
        values = [np.nan, -0.0, 0.0, -1.5, 2.0, -np.inf, np.inf]
        ours, theirs = _pair(np.tile(values, threads.MIN_ELEMENTS // 3), "float32")
        got = ember.relu(ours).numpy()
    finally:
        ember.set_num_threads(before)
    want = torch.relu(theirs).numpy()
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
