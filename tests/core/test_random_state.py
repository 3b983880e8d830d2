"""Generators and RNG states: bad states and devices fail as in PyTorch's CPU build."""

import pytest
import torch

import ember


def test_rng_state_round_trips():
    state = ember.get_rng_state()
    a = ember.rand(3)
    ember.set_rng_state(state)
    assert ember.rand(3).tolist() == a.tolist()


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.tensor([1, 2, 3], dtype=lib.uint8),
        lambda lib: lib.zeros(5000, dtype=lib.uint8),
        lambda lib: lib.tensor(list(b"{'state': 1}"), dtype=lib.uint8),
    ],
    ids=["short", "zeros", "wrong_literal"],
)
def test_corrupt_rng_state_raises_runtime_error_like_torch(make):
    with pytest.raises(RuntimeError):
        torch.set_rng_state(make(torch))
    with pytest.raises(RuntimeError, match="set_state"):
        ember.set_rng_state(make(ember))


def test_rng_state_of_wrong_type_raises_type_error_like_torch():
    with pytest.raises(TypeError):
        torch.set_rng_state(b"xx")
    with pytest.raises(TypeError, match="ByteTensor"):
        ember.set_rng_state(b"xx")


def test_generator_device_like_torch():
    assert str(ember.Generator().device) == str(torch.Generator().device) == "cpu"
    with pytest.raises(RuntimeError):
        torch.Generator(device="cuda")
    with pytest.raises(RuntimeError, match="no GPU backend"):
        ember.Generator(device="cuda")


def test_pin_memory_without_accelerator_raises_like_torch():
    with pytest.raises(RuntimeError) as expected:
        torch.ones(2).pin_memory()
    with pytest.raises(RuntimeError, match="none is available"):
        ember.ones(2).pin_memory()
    assert "none is available" in str(expected.value)
