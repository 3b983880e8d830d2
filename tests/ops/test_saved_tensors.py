"""An in-place change to a tensor that an op's backward needs is caught, as torch catches it.

For every op, every input and every output: run the op, bump that tensor's version in place
(without recording), then backpropagate. Where torch raises "modified by an inplace operation"
ember must raise the same error; where torch does not, ember must give torch's gradients.
Two lists name the deliberate exceptions, each still checked:

- ``KEPT_PRIVATELY``: torch saves the tensor, ember's backward never reads it (it kept its
  own copy of what it needs, or needs nothing from it). Ember must not raise, and must give
  the gradients torch gives when nothing is changed.
- ``SAVED_FOR_RECORDING``: ember saves a tensor torch does not, because its backward (or the
  re-run that makes its double backward) reads it. Ember must raise.
"""

import numpy as np
import pytest
import torch

import ember
from tests.ops.optable import _make, _np, _outputs
from tests.ops.saved_tensor_ops import ROWS

INPLACE_MESSAGE = "modified by an inplace operation"


def _targets(row):
    arrays = row.inputs[0]
    ins = [("input", i) for i in range(len(arrays))]
    outs = [("output", j) for j in range(len(_outputs(row.fn(torch, *_make(
        torch, arrays, "float64", row, False)))))]  # fmt: skip
    return ins + outs


KEPT_PRIVATELY = {
    ("gather", "input0"),  # needs only the shape of x
    ("take_along_dim", "input0"),  # a gather
    ("nll_loss", "input0"),  # a gather
    ("nll_loss", "input1"),  # target weights are formed in forward
    ("cross_entropy", "input1"),  # the target's one-hot coefficients are formed in forward
    ("cross_entropy_smoothing", "input1"),
    ("index_add", "input2"),  # the source's gradient needs only the index
    ("index_copy", "input2"),
    ("embedding_bag_sum", "input1"),  # bags are formed from indices and offsets in forward
    ("embedding_bag_sum", "input2"),
    ("embedding_bag_max", "input1"),
    ("embedding_bag_max", "input2"),
}

SAVED_FOR_RECORDING = {
    ("take_along_dim", "input1"),  # torch gathers with a broadcast copy of the index
    ("lstm", "input5"),
    ("lstm", "input6"),
    ("gru", "input4"),
    ("gru", "input5"),
    ("svdvals", "input0"),  # the double backward differentiates U diag(g) V^T in A
    ("matrix_norm_nuc", "input0"),  # svdvals
}

CASES = [
    pytest.param(row, target, id=f"{row.name}-{target[0]}{target[1]}")
    for row in ROWS
    for target in _targets(row)
]


def _bump(lib, t):
    """Raise the version counter; floats change value too, indices and masks stay valid."""
    with lib.no_grad():
        if t.is_floating_point():
            t.add_(0.25)
        else:
            t.copy_(t.clone())


def _outcome(lib, row, arrays, target, bump=True):
    leaves = _make(lib, arrays, "float64", row, True)
    ins = [t * 1 if t.requires_grad else t.clone() for t in leaves]  # non-leaf: writable
    outs = _outputs(row.fn(lib, *ins))
    kind, k = target
    if bump:
        _bump(lib, ins[k] if kind == "input" else outs[k])
    diff_outs = [o for o in outs if o.requires_grad]
    rng = np.random.default_rng(5)
    cot = [lib.tensor(rng.standard_normal(tuple(o.shape))).to(o.dtype) for o in diff_outs]
    diff = [t for t in leaves if t.requires_grad]
    try:
        grads = lib.autograd.grad(diff_outs, diff, cot, allow_unused=True)
    except RuntimeError as e:
        # torch words an in-place change to one of several views of one base differently
        if INPLACE_MESSAGE in str(e) or (lib is torch and "modified inplace" in str(e)):
            return "raised"
        raise
    return [None if g is None else _np(g) for g in grads]


@pytest.mark.parametrize("row,target", CASES)
def test_inplace_change_is_caught_as_in_torch(row, target):
    arrays = row.inputs[0]
    key = (row.name, f"{target[0]}{target[1]}")
    got = _outcome(ember, row, arrays, target)
    if key in SAVED_FOR_RECORDING:
        assert _outcome(torch, row, arrays, target) != "raised", f"{key}: torch raises now"
        assert got == "raised", f"{row.name}: ember should detect the change of {target}"
        return
    if key in KEPT_PRIVATELY:
        assert _outcome(torch, row, arrays, target) == "raised", f"{key}: torch passes now"
        expected = _outcome(torch, row, arrays, target, bump=False)
    else:
        expected = _outcome(torch, row, arrays, target)
    if expected == "raised":
        assert got == "raised", f"{row.name}: torch detects the change of {target}, ember not"
        return
    assert got != "raised", f"{row.name}: ember raises on a change of {target}, torch does not"
    for g, e in zip(got, expected):
        if g is None or e is None:  # no gradient is right where the other one is zero
            assert g is e or np.allclose(g if e is None else e, 0)
            continue
        # float32 kernels may round differently from PyTorch's (thread count, kernel choice)
        tol = 1e-5 if "float32" in row.name else 1e-7
        np.testing.assert_allclose(g, e, rtol=tol, atol=tol * 1e-2, err_msg=row.name)
