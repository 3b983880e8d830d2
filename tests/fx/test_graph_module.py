"""GraphModule: generated code, recompiling after graph edits, copying and saving."""

import copy
import pickle

import numpy as np
import pytest
import torch
import torch.fx

import ember
import ember.fx
from tests.fx.fx_models import INPUT_SHAPES, inputs, pair, to_numpy


def code_lines(gm, lib_name):
    return [ln.rstrip() for ln in gm.code.replace(f"{lib_name}.", "LIB.").splitlines() if ln]


@pytest.mark.parametrize("name", ["MLP", "Residual", "Reshaper"])
def test_generated_code_matches_torch(name):
    tmod, emod = pair(name)
    t_gm, e_gm = torch.fx.symbolic_trace(tmod), ember.fx.symbolic_trace(emod)
    t_lines = [
        ln.replace("inplace = False", "").replace(", )", ")") for ln in code_lines(t_gm, "torch")
    ]
    e_lines = [ln.replace("LIB.nn.functional.", "LIB.") for ln in code_lines(e_gm, "ember")]
    t_lines = [ln.replace("LIB.nn.functional.", "LIB.") for ln in t_lines]
    assert e_lines == t_lines


def _relu_to_gelu_by_editing(gm, gelu):
    """Swap every relu call for gelu directly on the nodes, then recompile."""
    for node in gm.graph.nodes:
        if node.op == "call_function" and node.target.__name__ == "relu":
            with gm.graph.inserting_after(node):
                new = gm.graph.call_function(gelu, node.args, {})
            node.replace_all_uses_with(new)
            gm.graph.erase_node(node)
    gm.graph.lint()
    gm.recompile()
    return gm


def test_direct_node_edit_and_recompile_gives_torchs_numbers():
    tmod, emod = pair("Residual")
    tmod.eval(), emod.eval()
    t_gm = _relu_to_gelu_by_editing(torch.fx.symbolic_trace(tmod), torch.nn.functional.gelu)
    e_gm = _relu_to_gelu_by_editing(ember.fx.symbolic_trace(emod), ember.nn.functional.gelu)
    assert "ember.nn.functional.gelu(" in e_gm.code and "relu" not in e_gm.code
    t_in, e_in = inputs(INPUT_SHAPES["Residual"])
    np.testing.assert_allclose(to_numpy(e_gm(e_in)), to_numpy(t_gm(t_in)), rtol=1e-5, atol=1e-6)
    assert not np.allclose(to_numpy(e_gm(e_in)), to_numpy(emod(e_in)))


def test_graph_module_keeps_only_what_the_graph_uses():
    tmod, emod = pair("CNN")
    t_gm, e_gm = torch.fx.symbolic_trace(tmod), ember.fx.symbolic_trace(emod)
    assert list(e_gm.state_dict()) == list(t_gm.state_dict())
    assert getattr(e_gm.features, "0") is emod.features[0]  # shared, not copied
    assert type(e_gm).__name__ == "CNN" and isinstance(e_gm, ember.fx.GraphModule)


def test_assigning_a_graph_recompiles_and_lint_checks_targets():
    _, emod = pair("MLP")
    gm = ember.fx.symbolic_trace(emod)
    g = ember.fx.Graph()
    x = g.placeholder("x")
    g.output(g.call_module("fc1", (x,)))
    gm.graph = g
    _, e_in = inputs(INPUT_SHAPES["MLP"])
    np.testing.assert_array_equal(to_numpy(gm(e_in)), to_numpy(emod.fc1(e_in)))
    with pytest.warns(UserWarning, match="no underlying reference"):
        bad = g.call_module("missing", (x,))
    with pytest.raises(RuntimeError, match="missing"):
        g.lint()
    g.erase_node(bad)
    gm.delete_all_unused_submodules()
    assert [name for name, _ in gm.named_children()] == ["fc1"]


def test_print_readable_and_str():
    _, emod = pair("MLP")
    gm = ember.fx.symbolic_trace(emod)
    text = gm.print_readable(print_output=False)
    assert text.startswith("class MLP(ember.nn.Module):\n    def forward(self, x):")
    assert "        fc1 = self.fc1(x);  x = None" in text
    assert gm.code in str(gm) and str(gm).startswith("MLP(")


def test_deepcopy_and_pickle_round_trip():
    _, emod = pair("Reshaper")
    gm = ember.fx.symbolic_trace(emod)
    _, e_in = inputs(INPUT_SHAPES["Reshaper"])
    expected = to_numpy(gm(e_in))
    clone = copy.deepcopy(gm)
    assert clone.proj is not gm.proj
    np.testing.assert_array_equal(to_numpy(clone(e_in)), expected)
    restored = pickle.loads(pickle.dumps(gm))
    np.testing.assert_array_equal(to_numpy(restored(e_in)), expected)
    assert restored.code == gm.code


@pytest.mark.parametrize("name", ["MLP", "CNN", "Reshaper"])
def test_to_folder_writes_a_loadable_module(tmp_path, name):
    _, emod = pair(name)
    emod.eval()
    gm = ember.fx.symbolic_trace(emod)
    gm.to_folder(tmp_path / "pkg", "Traced")
    namespace = {"__file__": str(tmp_path / "pkg" / "module.py")}
    exec((tmp_path / "pkg" / "module.py").read_text(), namespace)
    rebuilt = namespace["Traced"]().eval()
    _, e_in = inputs(INPUT_SHAPES[name])
    np.testing.assert_array_equal(to_numpy(rebuilt(e_in)), to_numpy(gm(e_in)))
    assert list(rebuilt.state_dict()) == list(gm.state_dict())


def test_root_dict_must_hold_every_target():
    g = ember.fx.Graph()
    x = g.placeholder("x")
    g.output(g.call_module("layer", (x,)))
    with pytest.raises(RuntimeError, match="layer"):
        ember.fx.GraphModule({}, g)
    gm = ember.fx.GraphModule({"layer": ember.nn.Tanh()}, g)
    _, e_in = inputs((2, 2))
    np.testing.assert_array_equal(to_numpy(gm(e_in)), to_numpy(ember.tanh(e_in)))


def test_bad_roots_are_named():
    g = ember.fx.Graph()
    x = g.placeholder("x")
    g.output(g.call_module("encoder.layer", (x,)))
    with pytest.raises(RuntimeError, match="encoder.layer"):
        ember.fx.GraphModule(ember.nn.Module(), g)
    with pytest.raises(TypeError, match="symbolic_trace: expected an ember.nn.Module"):
        ember.fx.symbolic_trace(3)
