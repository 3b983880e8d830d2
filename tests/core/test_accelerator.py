"""ember.accelerator answers as PyTorch does on a machine without an accelerator."""

import pytest
import torch

import ember

QUERIES = ["is_available", "device_count", "current_accelerator"]
DEVICE_CALLS = [
    ("current_device_index", ()),
    ("set_device_index", (0,)),
    ("synchronize", ()),
    ("memory_allocated", ()),
    ("empty_cache", ()),
    ("get_device_capability", ()),
]


@pytest.mark.parametrize("name", QUERIES)
def test_queries_match_torch(name):
    assert getattr(ember.accelerator, name)() == getattr(torch.accelerator, name)()


@pytest.mark.parametrize("name,args", DEVICE_CALLS)
def test_device_calls_raise_like_torch(name, args):
    with pytest.raises(RuntimeError) as expected:
        getattr(torch.accelerator, name)(*args)
    with pytest.raises(type(expected.value), match="none is available"):
        getattr(ember.accelerator, name)(*args)


def test_device_index_none_is_a_no_op():
    with ember.accelerator.device_index(None):
        pass
    with pytest.raises(RuntimeError):
        ember.accelerator.device_index(0)
