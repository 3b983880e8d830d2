"""atan2's result dtype follows PyTorch's: integer and bool inputs give floats."""

import numpy as np
import pytest
import torch

import ember

DTYPES = ["bool", "uint8", "int32", "int64", "float32", "float64"]


@pytest.mark.parametrize("left", DTYPES)
@pytest.mark.parametrize("right", DTYPES)
def test_atan2_dtype_and_values_match_torch(left, right):
    a = np.array([1, 2, 3, 0, 5], dtype=left)
    b = np.array([1, 1, 0, 1, 2], dtype=right)
    ours = ember.atan2(ember.tensor(a), ember.tensor(b))
    theirs = torch.atan2(torch.tensor(a), torch.tensor(b))
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_atan2_on_python_numbers_and_method():
    a = ember.tensor([-3, 4])
    np.testing.assert_allclose(a.atan2(ember.tensor([2, -1])).numpy(),
                               torch.tensor([-3, 4]).atan2(torch.tensor([2, -1])).numpy(),
                               rtol=1e-6)  # fmt: skip
    with pytest.raises(RuntimeError, match="can't be cast"):
        a.atan2_(ember.tensor([1, 1]))
