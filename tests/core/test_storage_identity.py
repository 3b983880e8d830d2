"""A tensor's storage object against PyTorch: the same memory gives the same Python object
(through views, detach, expand and set_), different memory a different one, and the storage's
address, equality and attributes follow from that."""

import gc
import warnings

import pytest
import torch

import ember


def _pair(lib):
    x = lib.arange(12.0)
    return x, x.untyped_storage()


CHECKS = {
    "repeated call": lambda lib: (lambda x: x.untyped_storage() is x.untyped_storage())(
        lib.arange(4.0)
    ),
    "slice": lambda lib: (lambda x, s: x[3:].untyped_storage() is s)(*_pair(lib)),
    "view": lambda lib: (lambda x, s: x.view(3, 4).untyped_storage() is s)(*_pair(lib)),
    "transpose": lambda lib: (lambda x, s: x.view(3, 4).t().untyped_storage() is s)(*_pair(lib)),
    "expand": lambda lib: (lambda x, s: x[:1].expand(5).untyped_storage() is s)(*_pair(lib)),
    "detach": lambda lib: (lambda x, s: x.detach().untyped_storage() is s)(*_pair(lib)),
    "dtype view": lambda lib: (lambda x, s: x.view(lib.int32).untyped_storage() is s)(*_pair(lib)),
    "clone": lambda lib: (lambda x, s: x.clone().untyped_storage() is s)(*_pair(lib)),
    "other tensor": lambda lib: lib.zeros(2).untyped_storage() is lib.zeros(2).untyped_storage(),
    "equal to itself": lambda lib: (lambda x, s: s == x[1:].untyped_storage())(*_pair(lib)),
    "equal to a clone": lambda lib: (lambda x, s: s == x.clone().untyped_storage())(*_pair(lib)),
    "data_ptr": lambda lib: (lambda x, s: s.data_ptr() == x[5:].untyped_storage().data_ptr())(
        *_pair(lib)
    ),
    "hash": lambda lib: (lambda x, s: hash(s) == hash(x[2:].untyped_storage()))(*_pair(lib)),
    "set_ storage": lambda lib: (
        lambda u: lib.tensor([], dtype=lib.uint8).set_(u).untyped_storage() is u
    )(lib.UntypedStorage(8)),
    "set_ tensor": lambda lib: (lambda x, s: lib.tensor([]).set_(x).untyped_storage() is s)(
        *_pair(lib)
    ),
    "typed storage": lambda lib: (lambda x: x.storage() is x.storage())(lib.arange(3.0)),
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_storage_identity_matches_torch(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # TypedStorage is deprecated
        assert CHECKS[name](ember) == CHECKS[name](torch)


@pytest.mark.parametrize("lib", [torch, ember], ids=["torch", "ember"])
def test_attributes_set_on_a_storage_are_seen_through_views(lib):
    x, s = _pair(lib)
    s.tag = "weights"
    assert x.view(3, 4)[1:].untyped_storage().tag == "weights"


@pytest.mark.parametrize("lib", [torch, ember], ids=["torch", "ember"])
def test_a_storage_outlives_its_tensor_and_keeps_its_bytes(lib):
    x, s = _pair(lib)
    address = x.data_ptr()
    del x
    gc.collect()
    assert s.data_ptr() == address and s.nbytes() == 12 * 4
    assert lib.tensor([], dtype=lib.float32).set_(s).tolist() == [float(i) for i in range(12)]


@pytest.mark.parametrize("lib", [torch, ember], ids=["torch", "ember"])
def test_a_storage_made_again_views_the_same_memory(lib):
    x, s = _pair(lib)
    address = s.data_ptr()
    del s
    gc.collect()
    again = x[4:].untyped_storage()
    assert again.data_ptr() == address and again is x.untyped_storage()
    again[0] = 7  # a byte of the first element, written through the storage
    assert x[0].item() != 0


def test_a_resized_storage_stays_its_tensors_storage():
    s = ember.UntypedStorage(4)
    s.resize_(16)
    t = ember.tensor([], dtype=ember.uint8).set_(s)
    assert t.untyped_storage() is s and s.nbytes() == 16
