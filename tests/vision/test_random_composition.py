"""RandomChoice, RandomOrder and RandomGrayscale: what each may produce, and how often."""

import numpy as np
import pytest

import ember
from ember.vision import transforms as T


def add_one(x):
    return x + 1


def double(x):
    return x * 2


def test_random_choice_applies_exactly_one_with_the_given_weights():
    ember.manual_seed(0)
    x = ember.tensor([1.0, 2.0])
    pick = T.RandomChoice([add_one, double], p=[3, 1])
    outcomes = [tuple(pick(x).tolist()) for _ in range(400)]
    assert set(outcomes) == {(2.0, 3.0), (2.0, 4.0)}
    share = outcomes.count((2.0, 3.0)) / len(outcomes)
    assert 0.65 < share < 0.85  # 3:1 weights -> 0.75
    always_first = T.RandomChoice([add_one, double], p=[1, 0])
    assert all(always_first(x).tolist() == [2.0, 3.0] for _ in range(50))
    with pytest.raises(ValueError, match="2 transforms"):
        T.RandomChoice([add_one, double], p=[1])


def test_random_order_applies_all_in_both_orders():
    ember.manual_seed(1)
    x = ember.tensor([1.0])
    order = T.RandomOrder([add_one, double])
    outcomes = {order(x).item() for _ in range(100)}
    assert outcomes == {3.0, 4.0}  # double(add_one(1)) = 4, add_one(double(1)) = 3


def test_random_grayscale_keeps_the_channel_count():
    rng = np.random.default_rng(0)
    img = ember.tensor(rng.random((3, 5, 4)).astype(np.float32))
    gray = T.RandomGrayscale(p=1.0)(img)
    expected = T.Grayscale(num_output_channels=3)(img)
    np.testing.assert_array_equal(gray.numpy(), expected.numpy())
    weights = np.array([0.2989, 0.587, 0.114], np.float32)  # torchvision's tensor luma
    luma = (img.numpy() * weights[:, None, None]).sum(0)
    np.testing.assert_allclose(gray.numpy()[0], luma, rtol=1e-5, atol=1e-6)
    assert T.RandomGrayscale(p=0.0)(img) is img
    assert repr(T.RandomGrayscale(0.3)) == "RandomGrayscale(p=0.3)"
