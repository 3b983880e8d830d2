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


def test_flex_attention_names_import_and_calls_raise():
    import torch.nn.attention.flex_attention as torch_flex

    from ember.nn.attention import flex_attention as flex

    assert flex._DEFAULT_SPARSE_BLOCK_SIZE == torch_flex._DEFAULT_SPARSE_BLOCK_SIZE
    assert flex.AuxRequest() == tuple(torch_flex.AuxRequest())
    assert flex.AuxRequest._fields == torch_flex.AuxRequest._fields
    q = ember.zeros(1, 1, 2, 4)
    with pytest.raises(NotImplementedError, match="flex_attention.flex_attention"):
        flex.flex_attention(q, q, q)
    with pytest.raises(NotImplementedError, match="create_block_mask"):
        flex.create_block_mask(lambda b, h, q_idx, kv_idx: q_idx >= kv_idx, 1, 1, 2, 2)
    with pytest.raises(NotImplementedError, match="BlockMask"):
        flex.BlockMask()
