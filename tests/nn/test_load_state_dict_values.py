"""load_state_dict rejects values that are not tensors and tensors of the wrong shape."""

import numpy as np
import pytest
import torch

import ember


def load_error(lib, state, strict=True):
    module = lib.nn.Linear(2, 3)
    with pytest.raises(RuntimeError) as info:
        module.load_state_dict(state, strict=strict)
    return str(info.value).replace("torch.", "").replace("ember.", "")


def error_lines(state_of, strict=True):
    t = load_error(torch, state_of(torch), strict)
    e = load_error(ember, state_of(ember), strict)
    return t.splitlines()[1:], e.splitlines()[1:]


@pytest.mark.parametrize(
    "value",
    [
        [[1.0, 2.0]] * 3,
        3.0,
        np.zeros((3, 2), np.float32),
        "weights",
    ],
    ids=["list", "float", "ndarray", "str"],
)
@pytest.mark.parametrize("strict", [True, False])
def test_non_tensor_values_are_rejected_as_in_torch(value, strict):
    t_lines, e_lines = error_lines(lambda lib: {"weight": value, "bias": lib.zeros(3)}, strict)
    assert e_lines == t_lines
    assert "expected torch.Tensor" in e_lines[0] or "expected Tensor" in e_lines[0]


@pytest.mark.parametrize("strict", [True, False])
def test_shape_mismatch_is_an_error_even_when_not_strict(strict):
    t_lines, e_lines = error_lines(lambda lib: {"weight": lib.zeros(2, 3), "bias": lib.zeros(4)})
    assert e_lines == t_lines
    assert len(e_lines) == 2 and all("size mismatch" in line for line in e_lines)


def test_a_rejected_value_leaves_the_parameter_unchanged():
    module = ember.nn.Linear(2, 3)
    before = module.weight.detach().clone()
    with pytest.raises(RuntimeError):
        module.load_state_dict({"weight": [[9.0, 9.0]] * 3, "bias": ember.zeros(3)})
    assert ember.equal(module.weight, before)
