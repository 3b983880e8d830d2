"""nn.attention.sdpa_kernel: a selection without the math backend fails at the call, as
PyTorch's does when none of the chosen kernels can run; with it, attention runs."""

import pytest

import ember
from ember.nn.attention import SDPBackend, sdpa_kernel
from ember.nn.functional import scaled_dot_product_attention


def test_selection_with_math_runs_and_without_it_raises():
    q = ember.randn(1, 2, 4, 8)
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.MATH]):
        assert scaled_dot_product_attention(q, q, q).shape == (1, 2, 4, 8)
    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
        with pytest.raises(RuntimeError, match="MATH"):
            scaled_dot_product_attention(q, q, q)
    assert scaled_dot_product_attention(q, q, q).shape == (1, 2, 4, 8)  # restored after
    with pytest.raises(AssertionError, match="SDPBackend"):
        with sdpa_kernel(["math"]):
            pass
