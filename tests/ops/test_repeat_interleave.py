"""``repeat_interleave`` against torch: tensor and number repeats, the one-argument form,
``output_size``, PyTorch's errors for bad repeats, and meta repeats (whose counts are unknown,
so only ``output_size`` gives the result's length)."""

import pytest
import torch

import ember


def _x(m):
    return m.arange(6.0).reshape(2, 3)


CASES = {
    "tensor_repeats_dim0": lambda m: _x(m).repeat_interleave(m.tensor([1, 2]), dim=0),
    "number_flattened": lambda m: _x(m).repeat_interleave(2),
    "number_dim1": lambda m: m.repeat_interleave(_x(m), 3, dim=1),
    "one_element_tensor": lambda m: _x(m).repeat_interleave(m.tensor([2]), dim=1),
    "zero_dim_tensor": lambda m: _x(m).repeat_interleave(m.tensor(2), dim=1),
    "zero_repeats": lambda m: _x(m).repeat_interleave(m.tensor([0, 2, 1]), dim=1),
    "int32_repeats": lambda m: _x(m).repeat_interleave(m.tensor([1, 2], dtype=m.int32), dim=0),
    "output_size": lambda m: _x(m).repeat_interleave(m.tensor([1, 2, 3]), dim=1, output_size=6),
    "indices": lambda m: m.repeat_interleave(m.tensor([1, 0, 3])),
    "indices_output_size": lambda m: m.repeat_interleave(m.tensor([2, 1]), output_size=3),
}

ERRORS = {
    "negative_tensor": lambda m: _x(m).repeat_interleave(m.tensor([-1, 2]), dim=0),
    "negative_number": lambda m: _x(m).repeat_interleave(-1),
    "wrong_count": lambda m: _x(m).repeat_interleave(m.tensor([1, 2])),
    "two_dim_repeats": lambda m: _x(m).repeat_interleave(m.tensor([[1, 2]]), dim=0),
    "float_repeats": lambda m: m.repeat_interleave(m.tensor([1.0, 2.0])),
    "two_dim_indices": lambda m: m.repeat_interleave(m.tensor([[1, 2]])),
    "wrong_output_size": lambda m: _x(m).repeat_interleave(2, dim=0, output_size=5),
    "wrong_output_size_tensor": lambda m: m.repeat_interleave(m.tensor([1, 2]), output_size=4),
    "meta_without_output_size": lambda m: m.empty(2, 3, device="meta").repeat_interleave(
        m.empty(2, dtype=m.int64, device="meta"), dim=0
    ),
    "meta_indices_without_output_size": lambda m: m.repeat_interleave(
        m.empty(2, dtype=m.int64, device="meta")
    ),
}

META = {
    "meta_repeats_output_size": lambda m: m.empty(2, 3, device="meta").repeat_interleave(
        m.empty(2, dtype=m.int64, device="meta"), dim=0, output_size=9
    ),
    "meta_indices_output_size": lambda m: m.repeat_interleave(
        m.empty(2, dtype=m.int64, device="meta"), output_size=9
    ),
    "meta_input_cpu_repeats": lambda m: m.empty(2, 3, device="meta").repeat_interleave(
        m.tensor([1, 2]), dim=0
    ),
    "meta_input_number": lambda m: m.empty(2, 3, device="meta").repeat_interleave(2),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_match_torch(name):
    e, t = CASES[name](ember), CASES[name](torch)
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    assert e.tolist() == t.tolist()


def test_gradient_matches_torch():
    def run(m):
        x = m.arange(6.0, requires_grad=True)
        y = x.reshape(2, 3).repeat_interleave(m.tensor([3, 1]), dim=0)
        (y * m.arange(12.0).reshape(4, 3)).sum().backward()
        return x.grad.tolist()

    assert run(ember) == run(torch)


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_match_torch(name):
    with pytest.raises(RuntimeError) as t:
        ERRORS[name](torch)
    with pytest.raises(type(t.value), match="repeat"):
        ERRORS[name](ember)


@pytest.mark.parametrize("name", sorted(META))
def test_meta_shapes_match_torch(name):
    e, t = META[name](ember), META[name](torch)
    assert e.is_meta and t.is_meta
    assert tuple(e.shape) == tuple(t.shape)


def test_meta_repeats_for_a_cpu_input_raise():
    """torch returns uninitialised values here; ember has none to give."""
    with pytest.raises(NotImplementedError, match="repeat_interleave: repeats on the meta"):
        ember.ones(2, 3).repeat_interleave(
            ember.empty(2, dtype=ember.int64, device="meta"), dim=0, output_size=9
        )
