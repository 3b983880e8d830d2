"""Interpreter, Transformer, replace_pattern and ShapeProp against torch.fx."""

import numpy as np
import pytest
import torch
import torch.fx
from torch.fx.passes.shape_prop import ShapeProp as TorchShapeProp

import ember
import ember.fx
from ember.fx.passes.shape_prop import ShapeProp
from tests.fx.fx_models import INPUT_SHAPES, assert_same_graph, inputs, pair, to_numpy


@pytest.mark.parametrize("name", ["MLP", "CNN", "Reshaper"])
def test_interpreter_runs_the_graph(name):
    _, emod = pair(name)
    gm = ember.fx.symbolic_trace(emod)
    _, e_in = inputs(INPUT_SHAPES[name])
    out = ember.fx.Interpreter(gm).run(e_in)
    np.testing.assert_array_equal(to_numpy(out), to_numpy(emod(e_in)))


def test_interpreter_overrides_see_every_call():
    class CountingInterpreter(ember.fx.Interpreter):
        def __init__(self, module):
            super().__init__(module)
            self.seen = []

        def call_module(self, target, args, kwargs):
            self.seen.append(target)
            return super().call_module(target, args, kwargs)

        def call_function(self, target, args, kwargs):
            self.seen.append(target.__name__)
            return super().call_function(target, args, kwargs)

    _, emod = pair("Residual")
    interp = CountingInterpreter(ember.fx.symbolic_trace(emod))
    _, e_in = inputs(INPUT_SHAPES["Residual"])
    interp.run(e_in)
    assert interp.seen == ["conv1", "bn1", "relu", "conv2", "bn2", "add", "relu"]


def test_interpreter_names_missing_inputs():
    _, emod = pair("MLP")
    with pytest.raises(RuntimeError, match="Expected positional argument for parameter x"):
        ember.fx.Interpreter(ember.fx.symbolic_trace(emod)).run()


def _gelu_transformer(fx, lib):
    class ReluToGelu(fx.Transformer):
        def call_function(self, target, args, kwargs):
            if target is lib.relu:
                target = lib.nn.functional.gelu
            return super().call_function(target, args, kwargs)

    return ReluToGelu


def test_transformer_relu_to_gelu_matches_torch():
    tmod, emod = pair("Residual")
    t_new = _gelu_transformer(torch.fx, torch)(torch.fx.symbolic_trace(tmod)).transform()
    e_new = _gelu_transformer(ember.fx, ember)(ember.fx.symbolic_trace(emod)).transform()
    assert isinstance(e_new, ember.fx.GraphModule)
    assert_same_graph(t_new.graph, e_new.graph)
    t_in, e_in = inputs(INPUT_SHAPES["Residual"])
    np.testing.assert_allclose(to_numpy(e_new(e_in)), to_numpy(t_new(t_in)), rtol=1e-5, atol=1e-6)


def test_plain_transformer_reproduces_the_module():
    tmod, emod = pair("Reshaper")
    t_new = torch.fx.Transformer(torch.fx.symbolic_trace(tmod)).transform()
    e_new = ember.fx.Transformer(ember.fx.symbolic_trace(emod)).transform()
    assert_same_graph(t_new.graph, e_new.graph)
    _, e_in = inputs(INPUT_SHAPES["Reshaper"])
    np.testing.assert_array_equal(to_numpy(e_new(e_in)), to_numpy(emod(e_in)))


def _rewrite_case(lib):
    class TwoBlocks(lib.nn.Module):
        def forward(self, x, w):
            a = lib.relu(x + w)
            b = lib.relu(a + w)
            return b * 2

    def pattern(x, w):
        return lib.relu(x + w)

    def replacement(x, w):
        return lib.sigmoid(x - w)

    return TwoBlocks(), pattern, replacement


def test_replace_pattern_matches_torch():
    t_mod, t_pat, t_rep = _rewrite_case(torch)
    e_mod, e_pat, e_rep = _rewrite_case(ember)
    t_gm, e_gm = torch.fx.symbolic_trace(t_mod), ember.fx.symbolic_trace(e_mod)
    t_matches = torch.fx.replace_pattern(t_gm, t_pat, t_rep)
    e_matches = ember.fx.replace_pattern(e_gm, e_pat, e_rep)
    assert len(e_matches) == len(t_matches) == 2
    for e_match, t_match in zip(e_matches, t_matches):
        assert {p.name: g.name for p, g in e_match.nodes_map.items()} == {
            p.name: g.name for p, g in t_match.nodes_map.items()
        }
    assert_same_graph(t_gm.graph, e_gm.graph)
    (t_x, e_x), (t_w, e_w) = inputs((2, 3), seed=5), inputs((3,), seed=6)
    np.testing.assert_allclose(to_numpy(e_gm(e_x, e_w)), to_numpy(t_gm(t_x, t_w)), rtol=1e-6)


def test_replace_pattern_skips_matches_whose_inner_values_escape():
    def fn(x, w):
        s = x + w
        return ember.relu(s) * s  # s is read outside the pattern: no match

    _, pattern, replacement = _rewrite_case(ember)
    gm = ember.fx.symbolic_trace(fn)
    assert ember.fx.replace_pattern(gm, pattern, replacement) == []
    assert "sigmoid" not in gm.code


@pytest.mark.parametrize("name", ["CNN", "Reshaper"])
def test_shape_prop_matches_torch(name):
    tmod, emod = pair(name)
    t_gm, e_gm = torch.fx.symbolic_trace(tmod), ember.fx.symbolic_trace(emod)
    t_in, e_in = inputs(INPUT_SHAPES[name])
    TorchShapeProp(t_gm).propagate(t_in)
    result = ShapeProp(e_gm).propagate(e_in)
    np.testing.assert_array_equal(to_numpy(result), to_numpy(emod(e_in)))
    for t_node, e_node in zip(t_gm.graph.nodes, e_gm.graph.nodes):
        t_meta, e_meta = t_node.meta.get("tensor_meta"), e_node.meta.get("tensor_meta")
        assert (t_meta is None) == (e_meta is None), e_node.name
        if t_meta is None:
            continue
        assert tuple(e_meta.shape) == tuple(t_meta.shape), e_node.name
        assert str(e_meta.dtype).split(".")[-1] == str(t_meta.dtype).split(".")[-1]
        assert e_meta.requires_grad == t_meta.requires_grad, e_node.name
        assert e_meta.stride == t_meta.stride, e_node.name
        assert e_meta.is_quantized is t_meta.is_quantized is False
        assert e_node.meta["type"].__name__ == t_node.meta["type"].__name__


def _two_occurrences(lib):
    class TwoSums(lib.nn.Module):
        def forward(self, x, w1, w2):
            m1 = lib.cat([lib.neg(w1), w2]).sum()
            m2 = lib.cat([lib.neg(w1), w2]).sum()
            return x + lib.max(m1) + lib.max(m2)

    def pattern(a1, a2):
        return lib.cat([lib.neg(a1), a2]).sum()

    def replacement(w1, w2):
        return lib.stack([w1, w2])

    return TwoSums(), pattern, replacement


def test_replacements_are_placed_before_the_first_use_like_torch():
    t_mod, t_pat, t_rep = _two_occurrences(torch)
    e_mod, e_pat, e_rep = _two_occurrences(ember)
    t_gm, e_gm = torch.fx.symbolic_trace(t_mod), ember.fx.symbolic_trace(e_mod)
    torch.fx.replace_pattern(t_gm, t_pat, t_rep)
    assert len(ember.fx.replace_pattern(e_gm, e_pat, e_rep)) == 2
    assert_same_graph(t_gm.graph, e_gm.graph)
    arrays = [inputs((3,), seed=s) for s in (14, 15, 16)]
    t_out = t_gm(*(t for t, _ in arrays))
    np.testing.assert_allclose(to_numpy(e_gm(*(e for _, e in arrays))), to_numpy(t_out))
