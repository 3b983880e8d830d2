"""``ember.layout``: the same layout names as ``torch.layout``, singletons that pickle and copy
to themselves, reprs that follow the package name (``torch.strided`` under ``ember run``),
``Tensor.layout``, and factories that take ``layout=strided`` and refuse the sparse layouts.
The quantization schemes' reprs follow the same naming rule."""

import copy
import pickle

import pytest
import torch

import ember
from ember import _dtype

LAYOUTS = sorted(n for n in dir(torch) if isinstance(getattr(torch, n), torch.layout))


def test_ember_has_torchs_layouts():
    assert LAYOUTS == sorted(n for n in dir(ember) if isinstance(getattr(ember, n), ember.layout))


@pytest.mark.parametrize("name", LAYOUTS)
def test_layout_reprs_follow_the_package_name(name, monkeypatch):
    assert repr(getattr(ember, name)) == f"ember.{name}"
    monkeypatch.setattr(_dtype, "repr_package", "torch")
    assert repr(getattr(ember, name)) == repr(getattr(torch, name))
    assert str(getattr(ember, name)) == str(getattr(torch, name))


@pytest.mark.parametrize("name", LAYOUTS)
def test_layouts_are_singletons(name):
    value = getattr(ember, name)
    assert pickle.loads(pickle.dumps(value)) is value
    assert copy.copy(value) is value and copy.deepcopy(value) is value
    assert value == value and hash(value) == hash(value)
    assert all(value != getattr(ember, other) for other in LAYOUTS if other != name)


@pytest.mark.parametrize("lib", [torch, ember])
def test_layout_cannot_be_instantiated(lib):
    with pytest.raises(TypeError, match="cannot create"):
        lib.layout()


def test_tensor_layout_is_strided():
    for t in (ember.ones(2, 3), ember.ones(2, 3).t(), ember.empty(2, device="meta")):
        assert t.layout is ember.strided
    assert ember.ones(2).layout == ember.strided
    assert ember.ones(2).layout != "strided"


FACTORIES = {
    "zeros": lambda m, **k: m.zeros(2, 3, **k),
    "ones_like": lambda m, **k: m.ones_like(m.ones(2), **k),
    "full": lambda m, **k: m.full((2,), 1.5, **k),
    "empty_strided": lambda m, **k: m.empty_strided((2, 3), (3, 1), **k),
    "arange": lambda m, **k: m.arange(4, **k),
    "linspace": lambda m, **k: m.linspace(0, 1, 5, **k),
    "eye": lambda m, **k: m.eye(3, **k),
    "rand": lambda m, **k: m.rand(2, **k),
    "randint": lambda m, **k: m.randint(0, 5, (2,), **k),
    "randperm": lambda m, **k: m.randperm(4, **k),
    "normal": lambda m, **k: m.normal(0.0, 1.0, (2,), **k),
    "new_zeros": lambda m, **k: m.ones(2).new_zeros((3,), **k),
    "new_full": lambda m, **k: m.ones(2).new_full((3,), 2.0, **k),
    "tril_indices": lambda m, **k: m.tril_indices(3, 3, **k),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_factories_take_strided(name):
    make = FACTORIES[name]
    e, t = make(ember, layout=ember.strided), make(torch, layout=torch.strided)
    assert e.layout is ember.strided and t.layout is torch.strided
    assert tuple(e.shape) == tuple(t.shape)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_factories_refuse_other_layouts_and_non_layouts(name):
    make = FACTORIES[name]
    with pytest.raises(NotImplementedError, match="layout=ember.sparse_coo is not supported"):
        make(ember, layout=ember.sparse_coo)
    with pytest.raises(TypeError):
        make(torch, layout="strided")
    with pytest.raises(TypeError, match="argument 'layout' must be ember.layout, not str"):
        make(ember, layout="strided")


@pytest.mark.parametrize(
    "name",
    ["per_tensor_affine", "per_channel_affine", "per_tensor_symmetric", "per_channel_symmetric",
     "per_channel_affine_float_qparams"],
)  # fmt: skip
def test_qscheme_reprs_follow_the_package_name(name, monkeypatch):
    assert repr(getattr(ember, name)) == f"ember.{name}"
    monkeypatch.setattr(_dtype, "repr_package", "torch")
    assert repr(getattr(ember, name)) == repr(getattr(torch, name))
