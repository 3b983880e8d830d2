"""symbolic_trace records the same graphs as torch.fx, and the traced modules compute the
same values as the modules they came from."""

import math

import numpy as np
import pytest
import torch
import torch.fx

import ember
import ember.fx
from tests.fx.fx_models import INPUT_SHAPES, assert_same_graph, build, inputs, pair, to_numpy


def scaled_sum(a, b):
    """A module-level function registered with wrap: recorded as one node."""
    return a * 2 + b.sum()


@ember.fx.wrap
def ember_wrapped_norm(x):
    if x.dim() > 1:  # would not trace: a leaf call is recorded instead
        return x / x.sum()
    return x


@torch.fx.wrap
def torch_wrapped_norm(x):
    if x.dim() > 1:
        return x / x.sum()
    return x


ember.fx.wrap("scaled_sum")


@pytest.mark.parametrize("name", ["MLP", "CNN", "Residual", "Reshaper"])
def test_module_graphs_match_torch(name):
    tmod, emod = pair(name)
    t_gm = torch.fx.symbolic_trace(tmod)
    e_gm = ember.fx.symbolic_trace(emod)
    assert_same_graph(t_gm.graph, e_gm.graph)
    t_in, e_in = inputs(INPUT_SHAPES[name])
    np.testing.assert_allclose(to_numpy(e_gm(e_in)), to_numpy(emod(e_in)), rtol=0, atol=0)
    np.testing.assert_allclose(to_numpy(e_gm(e_in)), to_numpy(t_gm(t_in)), rtol=1e-5, atol=1e-5)


def test_sequential_submodules_are_called_by_path():
    _, emod = pair("CNN")
    gm = ember.fx.symbolic_trace(emod)
    targets = [n.target for n in gm.graph.nodes if n.op == "call_module"]
    assert targets == ["features.0", "features.1", "features.2", "features.3", "head"]
    assert 'getattr(self.features, "0")(x)' in gm.code


def test_function_graph_matches_torch():
    t_gm = torch.fx.symbolic_trace(build(torch)["relu_model"])
    e_gm = ember.fx.symbolic_trace(build(ember)["relu_model"])
    assert_same_graph(t_gm.graph, e_gm.graph)
    t_in, e_in = inputs((3, 5))
    np.testing.assert_allclose(to_numpy(e_gm(e_in)), to_numpy(t_gm(t_in)), rtol=1e-6)


@pytest.mark.parametrize("use_gate", [True, False, None])
def test_concrete_args_specialise_like_torch(use_gate):
    concrete = {"use_gate": use_gate}
    t_gm = torch.fx.symbolic_trace(build(torch)["gated"], concrete_args=concrete)
    e_gm = ember.fx.symbolic_trace(build(ember)["gated"], concrete_args=concrete)
    assert_same_graph(t_gm.graph, e_gm.graph)
    (t_x, e_x), (t_y, e_y) = inputs((2, 3), seed=1), inputs((2, 3), seed=2)
    expected = to_numpy(t_gm(t_x, t_y, use_gate))
    np.testing.assert_allclose(to_numpy(e_gm(e_x, e_y, use_gate)), expected, rtol=1e-6)
    with pytest.raises(AssertionError, match="use_gate has been specialized"):
        e_gm(e_x, e_y, "another value")


def _branch_on_value(lib):
    def fn(x):
        if x.sum() > 0:
            return x + 1
        return x

    return fn


def _loop_over_proxy(lib):
    def fn(x):
        return [row * 2 for row in x]

    return fn


@pytest.mark.parametrize("make", [_branch_on_value, _loop_over_proxy])
def test_data_dependent_control_flow_raises_trace_error(make):
    with pytest.raises(torch.fx.proxy.TraceError) as t_err:
        torch.fx.symbolic_trace(make(torch))
    with pytest.raises(ember.fx.proxy.TraceError) as e_err:
        ember.fx.symbolic_trace(make(ember))
    assert isinstance(e_err.value, ValueError)
    assert str(e_err.value).split(".")[0] == str(t_err.value).split(".")[0]


def test_len_of_proxy_asks_for_wrap():
    with pytest.raises(RuntimeError, match=r"'len' is not supported in symbolic tracing"):
        ember.fx.symbolic_trace(lambda x: x * len(x))


def test_tuple_unpacking_of_a_proxy_records_getitems():
    def fn(x):
        a, b = x
        return a * b

    t_gm, e_gm = torch.fx.symbolic_trace(fn), ember.fx.symbolic_trace(fn)
    assert_same_graph(t_gm.graph, e_gm.graph)


def test_wrap_decorator_records_one_call_like_torch():
    t_gm = torch.fx.symbolic_trace(lambda x: torch_wrapped_norm(x) + 1)
    e_gm = ember.fx.symbolic_trace(lambda x: ember_wrapped_norm(x) + 1)
    t_calls = [n.target.__name__ for n in t_gm.graph.nodes if n.op == "call_function"]
    e_calls = [n.target.__name__ for n in e_gm.graph.nodes if n.op == "call_function"]
    assert t_calls == ["torch_wrapped_norm", "add"]
    assert e_calls == ["ember_wrapped_norm", "add"]
    assert [n.target for n in e_gm.graph.nodes][1] is ember_wrapped_norm
    t_in, e_in = inputs((2, 3))
    np.testing.assert_allclose(to_numpy(e_gm(e_in)), to_numpy(t_gm(t_in)), rtol=1e-6)
    assert ember_wrapped_norm is globals()["ember_wrapped_norm"]  # restored after tracing


def test_wrap_by_name():
    gm = ember.fx.symbolic_trace(lambda x, y: scaled_sum(x, y).relu())
    ops = [(n.op, getattr(n.target, "__name__", n.target)) for n in gm.graph.nodes]
    assert ("call_function", "scaled_sum") in ops
    assert not any(name in ("mul", "sum") for _, name in ops)
    _, x = inputs((2, 2), seed=3)
    _, y = inputs((2, 2), seed=4)
    np.testing.assert_allclose(to_numpy(gm(x, y)), to_numpy(scaled_sum(x, y).relu()))


def test_wrap_must_be_called_at_module_scope():
    with pytest.raises(NotImplementedError, match="top level of a module"):
        ember.fx.wrap("scaled_sum")


def test_math_functions_are_autowrapped():
    def fn(x):
        return x * math.sqrt(x.size(1))

    t_gm, e_gm = torch.fx.symbolic_trace(fn), ember.fx.symbolic_trace(fn)
    assert_same_graph(t_gm.graph, e_gm.graph)


def test_ember_functions_are_restored_after_tracing_even_on_error():
    originals = (ember.relu, ember.cat, ember.nn.functional.relu, ember.nn.Module.__call__)
    with pytest.raises(ember.fx.proxy.TraceError):
        ember.fx.symbolic_trace(_branch_on_value(ember))
    assert (ember.relu, ember.cat, ember.nn.functional.relu, ember.nn.Module.__call__) == originals
    assert "relu" not in vars(ember)  # still served by ember's module __getattr__


def test_tensor_constants_become_attributes_like_torch():
    def make(lib):
        class WithConstant(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.offset = lib.arange(3.0)

            def forward(self, x):
                return x + self.offset + lib.ones(3)

        return WithConstant()

    torch_mod, ember_mod = make(torch), make(ember)
    t_gm, e_gm = torch.fx.symbolic_trace(torch_mod), ember.fx.symbolic_trace(ember_mod)
    assert_same_graph(t_gm.graph, e_gm.graph)
    assert sorted(n for n, _ in e_gm.named_buffers()) == sorted(n for n, _ in t_gm.named_buffers())
    t_in, e_in = inputs((2, 3))
    np.testing.assert_allclose(to_numpy(e_gm(e_in)), to_numpy(t_gm(t_in)), rtol=1e-6)


def test_unsupported_argument_type_is_named():
    class Opaque:
        pass

    with pytest.raises(NotImplementedError, match="Opaque"):
        ember.fx.symbolic_trace(lambda x: ember.add(x, Opaque()))


def test_operators_and_attributes_match_torch():
    def fn(x):
        y = abs(x)
        return x.shape[0] * y, x.T, -x, ~(x > 0), 1 - x, x.float(), 2**x, x @ x.T

    t_gm, e_gm = torch.fx.symbolic_trace(fn), ember.fx.symbolic_trace(fn)
    assert_same_graph(t_gm.graph, e_gm.graph)
    t_in, e_in = inputs((3, 3))
    for e_out, t_out in zip(e_gm(e_in), t_gm(t_in)):
        np.testing.assert_allclose(to_numpy(e_out), to_numpy(t_out), rtol=1e-6)


def clipped(x):
    return x.clamp(min=0)


def test_custom_tracer_leaf_choice_autowrap_and_node_hook():
    class Tracer(ember.fx.Tracer):
        def is_leaf_module(self, m, qualname):
            return not isinstance(m, ember.nn.ReLU) and super().is_leaf_module(m, qualname)

        def create_node(self, kind, target, args, kwargs, name=None, type_expr=None):
            node = super().create_node(kind, target, args, kwargs, name, type_expr)
            node.meta["tag"] = "seen"
            return node

    _, emod = pair("MLP")
    graph = Tracer(autowrap_functions=(clipped,)).trace(emod)
    ops = [
        (n.op, n.target if isinstance(n.target, str) else n.target.__name__) for n in graph.nodes
    ]
    assert ("call_function", "relu") in ops and ("call_module", "act") not in ops
    assert all(n.meta.get("tag") == "seen" for n in graph.nodes)

    wrapped = Tracer(autowrap_functions=(clipped,)).trace(lambda x: clipped(x) + 1)
    assert [n.target for n in wrapped.nodes if n.op == "call_function"][0] is clipped
    assert clipped.__name__ == "clipped" and globals()["clipped"] is clipped


def test_param_shapes_constant_bakes_parameter_shapes_like_torch():
    def make(lib):
        class Projection(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.w = lib.nn.Parameter(lib.ones(4, 2))

            def forward(self, x):
                return x.reshape(-1, self.w.shape[0]) @ self.w + self.w.size()[1] + self.w.dim()

        return Projection()

    graphs = {}
    for constant in (False, True):
        t_graph = torch.fx.Tracer(param_shapes_constant=constant).trace(make(torch))
        e_graph = ember.fx.Tracer(param_shapes_constant=constant).trace(make(ember))
        assert_same_graph(t_graph, e_graph)
        graphs[constant] = e_graph
    assert len(graphs[True].nodes) < len(graphs[False].nodes)


def test_retracing_a_graph_module_gives_the_same_graph():
    def fn(x, y):
        return ember.relu(ember_wrapped_norm(x) + scaled_sum(x, y)).view(-1)

    gm = ember.fx.symbolic_trace(fn)
    again = ember.fx.symbolic_trace(gm)
    assert str(again.graph) == str(gm.graph)
    _, x = inputs((2, 3), seed=11)
    np.testing.assert_array_equal(to_numpy(again(x, x)), to_numpy(fn(x, x)))


def test_methods_of_real_tensors_called_on_proxies_match_torch():
    def make(lib):
        class WithBuffers(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.register_buffer("ids", lib.arange(6.0))
                self.c = lib.ones(3)

            def forward(self, x):
                moved = self.c.to(x.dtype) + x
                summed = self.c + x
                scaled = self.c * x.size(0)
                reshaped = self.ids.view(x.size(0), -1)
                picked = self.c[x.long()] / x
                return moved, summed, scaled, reshaped, picked

        return WithBuffers()

    tensor_methods = dict(vars(ember.Tensor))
    t_gm, e_gm = torch.fx.symbolic_trace(make(torch)), ember.fx.symbolic_trace(make(ember))
    assert dict(vars(ember.Tensor)) == tensor_methods  # restored after tracing
    assert_same_graph(t_gm.graph, e_gm.graph)
    array = np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 1.0]], dtype=np.float32)
    for e_out, t_out in zip(e_gm(ember.tensor(array)), t_gm(torch.tensor(array))):
        np.testing.assert_allclose(to_numpy(e_out), to_numpy(t_out), rtol=1e-6)


def star_args(x, *args, **kwargs):
    return x + args[0]


def keyword_only(x, *, scale=2.0):
    return x * scale


@pytest.mark.parametrize("fn", [star_args, keyword_only])
def test_star_and_keyword_only_parameters_match_torch(fn):
    t_gm, e_gm = torch.fx.symbolic_trace(fn), ember.fx.symbolic_trace(fn)
    assert_same_graph(t_gm.graph, e_gm.graph)
    assert e_gm.code == t_gm.code
    (t_x, e_x), (t_y, e_y) = inputs((2, 3), seed=12), inputs((2, 3), seed=13)
    np.testing.assert_allclose(to_numpy(e_gm(e_x, e_y)), to_numpy(t_gm(t_x, t_y)), rtol=1e-6)
    interpreted = ember.fx.Interpreter(e_gm).run(e_x, e_y)
    np.testing.assert_array_equal(to_numpy(interpreted), to_numpy(e_gm(e_x, e_y)))
