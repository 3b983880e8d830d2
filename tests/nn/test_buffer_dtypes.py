"""Buffers keep their dtype in every way of registering them, and through dtype conversions."""

import pytest
import torch

import ember


def build(nn, lib):
    """Integer and floating buffers registered in each form PyTorch offers."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.position_ids = nn.Buffer(lib.arange(6).unsqueeze(0))
            self.mask = nn.Buffer(lib.tensor([True, False, True]), persistent=False)
            self.register_buffer("steps", lib.tensor(3))
            self.register_buffer("codes", lib.arange(4, dtype=lib.int32), persistent=False)
            self.register_buffer("running", lib.ones(2))
            self.scale = nn.Buffer(lib.full((2,), 0.5, dtype=lib.float64))
            self.weight = nn.Parameter(lib.ones(2))

    return Net()


def dtypes(module):
    return {name: str(b.dtype).split(".")[-1] for name, b in module.named_buffers()}


def same_dtypes(convert):
    t, e = build(torch.nn, torch), build(ember.nn, ember)
    convert(t, torch)
    convert(e, ember)
    assert dtypes(e) == dtypes(t)
    assert str(e.weight.dtype).split(".")[-1] == str(t.weight.dtype).split(".")[-1]


def test_every_registration_form_keeps_the_dtype():
    same_dtypes(lambda m, lib: None)
    e = build(ember.nn, ember)
    assert e.position_ids.dtype == ember.int64 and not e.position_ids.requires_grad


@pytest.mark.parametrize("method", ["half", "double", "float", "bfloat16"])
def test_float_casts_convert_only_floating_buffers(method):
    same_dtypes(lambda m, lib: getattr(m, method)())


@pytest.mark.parametrize("dtype", ["float16", "float64"])
def test_module_to_dtype_converts_only_floating_buffers(dtype):
    same_dtypes(lambda m, lib: m.to(getattr(lib, dtype)))
    same_dtypes(lambda m, lib: m.to(dtype=getattr(lib, dtype)))


def test_state_dict_holds_the_persistent_buffers_with_their_dtypes():
    t, e = build(torch.nn, torch), build(ember.nn, ember)
    t_sd, e_sd = t.state_dict(), e.state_dict()
    assert list(e_sd) == list(t_sd)
    assert [str(v.dtype).split(".")[-1] for v in e_sd.values()] == [
        str(v.dtype).split(".")[-1] for v in t_sd.values()
    ]


def test_loading_floats_into_an_integer_buffer_keeps_the_integer_dtype():
    t, e = build(torch.nn, torch), build(ember.nn, ember)
    values = [[0.7, 1.2, 2.9, 3.0, 4.5, 5.99]]
    t.load_state_dict({"position_ids": torch.tensor(values)}, strict=False)
    e.load_state_dict({"position_ids": ember.tensor(values)}, strict=False)
    assert e.position_ids.dtype == ember.int64
    assert e.position_ids.tolist() == t.position_ids.tolist()


def test_integer_position_ids_reach_embedding():
    e = build(ember.nn, ember)
    emb = ember.nn.Embedding(6, 3)
    assert emb(e.position_ids).shape == (1, 6, 3)
