"""Empty tensors have PyTorch's contiguous strides (NumPy gives them zeros), so code that
checks strides, such as a dtype view, treats them as contiguous."""

import pytest
import torch

import ember


@pytest.mark.parametrize("shape", [(0,), (2, 0, 3), (0, 4), (3, 0), (1, 0, 0, 2)])
def test_empty_tensors_have_contiguous_strides(shape):
    assert ember.empty(*shape).stride() == torch.empty(*shape).stride()
    assert ember.empty(*shape).is_contiguous() == torch.empty(*shape).is_contiguous()


def test_empty_byte_tensor_views_as_float32():
    for lib in (ember, torch):
        viewed = lib.empty(0, dtype=lib.uint8).view(lib.float32)
        assert tuple(viewed.shape) == (0,) and viewed.dtype == lib.float32
