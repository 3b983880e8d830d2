"""Graphs built by calling ember functions on Proxies made by hand (outside symbolic_trace),
as torch.fx allows: building from scratch, inlining a module, calling a GraphModule on
Proxies."""

import gc

import numpy as np
import torch
import torch.fx

import ember
import ember.fx
from tests.fx.fx_models import assert_same_graph, inputs, to_numpy


def build_from_scratch(fx, lib):
    graph = fx.Graph()
    tracer = fx.proxy.GraphAppendingTracer(graph)
    x = fx.Proxy(graph.placeholder("x"), tracer)
    y = fx.Proxy(graph.placeholder("y"), tracer)
    out = lib.neg(lib.tanh(lib.cat([x, y])))
    graph.output(out.node)
    return fx.GraphModule(lib.nn.Module(), graph)


def test_graph_from_hand_made_proxies_matches_torch():
    t_gm, e_gm = build_from_scratch(torch.fx, torch), build_from_scratch(ember.fx, ember)
    assert_same_graph(t_gm.graph, e_gm.graph)
    (t_x, e_x), (t_y, e_y) = inputs((2, 3), seed=7), inputs((1, 3), seed=8)
    np.testing.assert_allclose(to_numpy(e_gm(e_x, e_y)), to_numpy(t_gm(t_x, t_y)), rtol=1e-6)


def inline_relu_module(fx, lib):
    class M(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.relu = lib.nn.ReLU()

        def forward(self, x):
            return self.relu(x) + 1.0

    gm = fx.symbolic_trace(M())
    tracer = fx.proxy.GraphAppendingTracer(gm.graph)
    for node in gm.graph.nodes:
        if (node.op, node.target) == ("call_module", "relu"):
            with gm.graph.inserting_before(node):
                args = fx.node.map_arg(node.args, lambda n: fx.Proxy(n, tracer))
                node.replace_all_uses_with(gm.relu(*args).node)
            gm.graph.erase_node(node)
    gm.recompile()
    return gm


def test_inlining_a_module_through_proxies():
    t_gm, e_gm = inline_relu_module(torch.fx, torch), inline_relu_module(ember.fx, ember)
    ops = [(n.op, getattr(n.target, "__name__", n.target)) for n in e_gm.graph.nodes]
    assert ops == [(n.op, getattr(n.target, "__name__", n.target)) for n in t_gm.graph.nodes]
    assert ("call_function", "relu") in ops
    t_in, e_in = inputs((3, 4))
    np.testing.assert_allclose(to_numpy(e_gm(e_in)), to_numpy(t_gm(t_in)), rtol=1e-6)


def test_calling_a_graph_module_on_proxies_inlines_it():
    outer = ember.fx.symbolic_trace(lambda x, y: ember.cat([x, y]))
    activation = ember.fx.symbolic_trace(ember.nn.LeakyReLU(0.2))
    output = next(n for n in outer.graph.nodes if n.op == "output")
    cat = output.args[0]
    with outer.graph.inserting_after(cat):
        output.args = (activation(ember.fx.Proxy(cat)).node,)
    outer.recompile()
    (_, x), (_, y) = inputs((2, 3), seed=9), inputs((2, 3), seed=10)
    expected = ember.nn.functional.leaky_relu(ember.cat([x, y]), 0.2)
    np.testing.assert_array_equal(to_numpy(outer(x, y)), to_numpy(expected))


def test_functions_are_restored_when_the_last_hand_made_tracer_goes():
    original = vars(ember)["tanh"]
    graph = ember.fx.Graph()
    tracer = ember.fx.proxy.GraphAppendingTracer(graph)
    assert vars(ember)["tanh"] is not original
    assert ember.tanh == original  # the stand-in compares equal to the function it records
    del tracer
    gc.collect()
    assert vars(ember)["tanh"] is original


def test_hand_made_tracer_created_during_a_trace_outlives_it_cleanly():
    original = vars(ember)["tanh"]
    kept = []

    def fn(x):
        kept.append(ember.fx.proxy.GraphAppendingTracer(ember.fx.Graph()))
        return ember.tanh(x)

    gm = ember.fx.symbolic_trace(fn)
    assert [n.target for n in gm.graph.nodes if n.op == "call_function"] == [original]
    assert vars(ember)["tanh"] is not original  # the kept tracer still records
    kept.clear()
    gc.collect()
    assert vars(ember)["tanh"] is original
