"""Sequential, ModuleList, ModuleDict, ParameterList and ParameterDict against torch."""

from collections import OrderedDict

import pytest
import torch

import ember


def layers(lib, n=4):
    return [lib.nn.Linear(i + 1, i + 2) for i in range(n)]


def keys(module):
    return [n for n, _ in module.named_parameters()]


def test_sequential_indexing_slicing_and_editing_like_torch():
    results = {}
    for lib in (torch, ember):
        s = lib.nn.Sequential(*layers(lib))
        out = [len(s), type(s[-1]).__name__, s[1].in_features, keys(s[1:3]), keys(s[::2])]
        s.append(lib.nn.ReLU())
        s.insert(0, lib.nn.Tanh())
        s.insert(-1, lib.nn.Sigmoid())
        s.extend([lib.nn.Identity()])
        del s[2]
        s[0] = lib.nn.ELU()
        out += [[type(m).__name__ for m in s], keys(s), repr(s)]
        out.append(len(s + lib.nn.Sequential(lib.nn.ReLU())))
        s.pop(1)
        out.append([n for n, _ in s.named_children()])
        with pytest.raises(IndexError):
            s[10]
        results[lib.__name__] = out
    assert results["ember"] == results["torch"]


def test_sequential_from_ordered_dict_and_forward():
    for lib in (torch, ember):
        s = lib.nn.Sequential(OrderedDict([("fc", lib.nn.Linear(2, 3)), ("act", lib.nn.ReLU())]))
        assert [n for n, _ in s.named_children()] == ["fc", "act"]
        assert s.fc is s[0]
        assert tuple(s(lib.ones(5, 2)).shape) == (5, 3)


def test_module_list_like_torch():
    results = {}
    for lib in (torch, ember):
        ml = lib.nn.ModuleList(layers(lib, 3))
        ml.append(lib.nn.ReLU())
        ml.extend([lib.nn.Tanh()])
        ml.insert(1, lib.nn.Sigmoid())
        ml += [lib.nn.Identity()]
        del ml[0]
        ml[-1] = lib.nn.ELU()
        results[lib.__name__] = [
            [type(m).__name__ for m in ml],
            keys(ml),
            keys(ml[1:3]),
            repr(ml),
            len(ml),
            [n for n, _ in ml.named_modules()],
        ]
    assert results["ember"] == results["torch"]


def test_module_dict_like_torch():
    results = {}
    for lib in (torch, ember):
        md = lib.nn.ModuleDict({"b": lib.nn.Linear(1, 1), "a": lib.nn.ReLU()})
        md["c"] = lib.nn.Tanh()
        md.update([("d", lib.nn.Identity())])
        popped = md.pop("a")
        results[lib.__name__] = [
            list(md.keys()),
            type(popped).__name__,
            "b" in md,
            len(md),
            keys(md),
            repr(md),
        ]
        md.clear()
        assert len(md) == 0
    assert results["ember"] == results["torch"]


def test_parameter_list_and_dict_like_torch():
    results = {}
    for lib in (torch, ember):
        pl = lib.nn.ParameterList([lib.nn.Parameter(lib.zeros(2, 3)), lib.ones(1)])
        pl.append(lib.zeros(4, dtype=lib.float64))
        pd = lib.nn.ParameterDict({"z": lib.zeros(1), "b": lib.nn.Parameter(lib.ones(2))})
        pd["a"] = lib.zeros(3)
        holder = lib.nn.Module()
        holder.pl, holder.pd = pl, pd
        results[lib.__name__] = [
            keys(holder),
            all(isinstance(p, lib.nn.Parameter) for p in pl),
            list(pd.keys()),
            repr(holder).replace("torch.float", "ember.float"),
            len(pl[1:]),
            "z" in pd,
            tuple(pd.pop("b").shape),
            list(pd),
        ]
    assert results["ember"] == results["torch"]
