"""Second derivatives (create_graph=True) of every op whose backward reads saved tensors.

Each row is checked by the op-table runner: gradients of a weighted sum of first gradients
against torch 2.13, and gradgradcheck in float64 against finite differences of the first
derivative. A backward computed on plain arrays gives a first gradient that does not require
grad, and fails here.
"""

import numpy as np
import pytest
import torch

import ember
from tests.ops.optable import cases, check_double_backward, check_gradcheck
from tests.ops.saved_tensor_ops import ROWS


@pytest.mark.parametrize("row,sample", cases([r for r in ROWS if r.double_backward]))
def test_second_derivative_matches_torch_and_finite_differences(row, sample):
    check_double_backward(row, sample)
    if row.gradcheck:
        check_gradcheck(row, sample)


def _ctc(lib, x, g):
    lp = (x + g.sum()).log_softmax(2)
    return lib.nn.functional.ctc_loss(lp, lib.tensor([[1, 2], [2, 2]]), [4, 3], [2, 1])


def test_ctc_loss_second_derivative_raises_as_in_torch():
    """ctc_loss's gradient is computed on plain arrays and tied to its inputs: differentiating
    it raises, as in torch, rather than giving a silent zero."""
    rng = np.random.default_rng(0)
    arrays = rng.standard_normal((4, 2, 3)), rng.standard_normal(2)
    for lib, match in ((torch, "not implemented"), (ember, "derivative for .* is not implemented")):
        x, g = (lib.tensor(a, requires_grad=True) for a in arrays)
        first = lib.autograd.grad(_ctc(lib, x, g).sum(), (x, g), create_graph=True)
        assert all(f.requires_grad for f in first)
        with pytest.raises(RuntimeError, match=match):
            lib.autograd.grad(sum((f * f).sum() for f in first), (x, g))
