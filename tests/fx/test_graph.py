"""Graph and Node editing: building by hand, insertion points, rewiring, erasing, copying,
checking and printing, side by side with torch.fx."""

import copy
import operator

import pytest
import torch
import torch.fx

import ember
import ember.fx
from ember.fx.node import map_aggregate, map_arg


def build_graph(fx, lib):
    """x -> add(x, 1) -> relu -> view(-1) -> output, built with the Graph API."""
    g = fx.Graph()
    x = g.placeholder("x")
    add = g.call_function(operator.add, (x, 1))
    relu = g.call_function(lib.relu, (add,))
    view = g.call_method("view", (relu, -1))
    g.output(view)
    return g


def printed(graph, lib_name):
    return str(graph).replace(f"{lib_name}.", "LIB.")


def test_printing_matches_torch():
    t_g, e_g = build_graph(torch.fx, torch), build_graph(ember.fx, ember)
    assert printed(e_g, "ember") == printed(t_g, "torch")
    e_relu, t_relu = list(e_g.nodes)[2], list(t_g.nodes)[2]
    assert repr(e_relu) == repr(t_relu) == "relu"
    assert e_relu.format_node().replace("ember.", "") == t_relu.format_node().replace("torch.", "")


def test_printing_of_placeholder_defaults_and_structured_outputs_matches_torch():
    def fn(x, scale=None):
        return {"a": x * 2, "b": (x, x.shape)}

    t_g = torch.fx.symbolic_trace(fn).graph
    e_g = ember.fx.symbolic_trace(fn).graph
    assert printed(e_g, "ember") == printed(t_g, "torch")


def test_node_links_users_and_inputs():
    g = build_graph(ember.fx, ember)
    x, add, relu, view, out = g.nodes
    assert add.all_input_nodes == [x] and list(x.users) == [add]
    assert relu.prev is add and relu.next is view
    assert out.op == "output" and out.args == (view,)
    assert len(g.nodes) == 5
    assert [n.name for n in reversed(g.nodes)] == ["output", "view", "relu", "add", "x"]
    assert g.find_nodes(op="call_function", target=ember.relu) == [relu]


def test_inserting_after_and_replace_all_uses_with():
    g = build_graph(ember.fx, ember)
    x, add, relu, view, out = g.nodes
    with g.inserting_after(relu):
        neg = g.call_function(operator.neg, (relu,))
    changed = relu.replace_all_uses_with(neg, delete_user_cb=lambda user: user is not neg)
    assert changed == [view]
    assert view.args == (neg, -1) and neg.args == (relu,)
    assert [n.name for n in g.nodes] == ["x", "add", "relu", "neg", "view", "output"]
    g.lint()
    with g.inserting_before(add):
        first = g.call_method("abs", (x,))
    assert list(g.nodes)[1] is first


def test_inserting_before_none_goes_first_and_after_none_last():
    g = build_graph(ember.fx, ember)
    with g.inserting_before(None):
        early = g.placeholder("y")
    assert next(iter(g.nodes)) is early
    with g.inserting_after(None):
        late = g.call_function(operator.add, (early, 1))
    assert list(g.nodes)[-1] is late


def test_replace_input_update_arg_and_prepend_append():
    g = build_graph(ember.fx, ember)
    x, add, relu, view, out = g.nodes
    relu.replace_input_with(add, x)
    assert relu.args == (x,) and not add.users
    view.update_arg(1, 4)
    assert view.args == (relu, 4)
    view.update_kwarg("extra", x)
    assert view.kwargs == {"extra": x} and view in x.users
    x.prepend(add)
    assert [n.name for n in g.nodes][:2] == ["add", "x"]
    with pytest.raises(RuntimeError, match="used before it has been defined"):
        g.lint()


def test_erase_node_refuses_used_nodes_like_torch():
    for fx, lib in ((torch.fx, torch), (ember.fx, ember)):
        g = build_graph(fx, lib)
        relu = list(g.nodes)[2]
        with pytest.raises(RuntimeError, match="Tried to erase Node relu but it still had 1 users"):
            g.erase_node(relu)


def test_erasing_while_iterating_and_eliminate_dead_code():
    g = build_graph(ember.fx, ember)
    x, add, relu, view, out = g.nodes
    with g.inserting_after(x):
        unused = [g.call_method("sum", (x,)), g.call_function(operator.mul, (x, 3))]
        kept = g.call_method("add_", (x, 1))  # in place: must survive
    for node in g.nodes:
        if node in unused:
            g.erase_node(node)
    assert [n.name for n in g.nodes] == ["x", "add_", "add", "relu", "view", "output"]
    with g.inserting_after(x):
        g.call_method("sum", (x,))
    assert g.eliminate_dead_code() is True
    assert kept in g.nodes and len(g.nodes) == 6
    assert g.eliminate_dead_code() is False


def test_graph_copy_and_deepcopy_keep_structure():
    g = build_graph(ember.fx, ember)
    new = ember.fx.Graph()
    val_map = {}
    result = new.graph_copy(g, val_map)
    new.output(result)
    assert printed(new, "ember") == printed(g, "ember")
    assert all(val_map[n].graph is new for n in val_map)
    clone = copy.deepcopy(g)
    assert printed(clone, "ember") == printed(g, "ember")
    assert not set(clone.nodes) & set(g.nodes)


def test_node_copy_renames_on_clash():
    g = build_graph(ember.fx, ember)
    relu = list(g.nodes)[2]
    with g.inserting_after(relu):
        dup = g.node_copy(relu)
    assert dup.name == "relu_1" and dup.args == relu.args and dup.target is ember.relu


def test_lint_reports_foreign_arguments():
    g, other = build_graph(ember.fx, ember), build_graph(ember.fx, ember)
    with pytest.raises(RuntimeError, match="different graph"):
        g.call_function(operator.add, (next(iter(other.nodes)), 1))


def test_map_arg_and_map_aggregate():
    g = build_graph(ember.fx, ember)
    x, add = list(g.nodes)[:2]
    nested = (x, [add, 2], {"k": slice(x, None, 3)})
    assert map_arg(nested, lambda n: n.name) == ("x", ["add", 2], {"k": slice("x", None, 3)})
    assert map_aggregate(nested, lambda v: 0 if isinstance(v, ember.fx.Node) else v) == (
        0,
        [0, 2],
        {"k": slice(0, None, 3)},
    )


def test_node_rejects_bad_op_and_target():
    g = ember.fx.Graph()
    with pytest.raises(ValueError, match="unknown op"):
        g.create_node("call_everything", operator.add)
    with pytest.raises(ValueError, match="callable"):
        g.call_function("relu", ())


def test_names_avoid_builtins_and_repeat_with_suffixes():
    g = ember.fx.Graph()
    x = g.placeholder("x")
    names = [g.call_method("sum", (x,)).name for _ in range(2)]
    names.append(g.call_function(getattr, (x, "shape")).name)
    names += [g.call_function(operator.add, (x, x)).name for _ in range(2)]
    assert names == ["sum_1", "sum_2", "getattr_1", "add", "add_1"]


def test_print_tabular_lists_every_node(capsys):
    g = build_graph(ember.fx, ember)
    g.print_tabular()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["opcode", "name", "target", "args", "kwargs"]
    rows = [line.split()[:3] for line in lines[2:]]
    assert rows == [
        ["placeholder", "x", "x"],
        ["call_function", "add", "operator.add"],
        ["call_function", "relu", "ember.relu"],
        ["call_method", "view", "view"],
        ["output", "output", "output"],
    ]
