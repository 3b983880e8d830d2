"""torchvision.models.feature_extraction on ember: node names follow torchvision's scheme (module
paths, ``_n`` for repeats within a scope), and the extracted features equal the values the
model's own submodules compute."""

import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import torch
import torch.fx

import ember
from ember.vision import ops
from ember.vision.models import resnet18
from ember.vision.models.feature_extraction import (
    create_feature_extractor,
    get_graph_node_names,
)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _models(lib):
    """The same small network in ember or torch: nested blocks, a leaf module applied twice, a
    function applied twice in one scope and once in another, a method, and a branch taken only
    in train mode."""
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)
            self.relu = nn.ReLU()

        def forward(self, x):
            y = self.relu(self.conv(x))
            y = y + x
            return self.relu(y + 1)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 4, 1)
            self.blocks = nn.Sequential(Block(), Block())
            self.head = nn.Linear(4, 5)

        def forward(self, x):
            x = self.blocks(self.stem(x))
            if self.training:
                x = x * 0.5
            x = x.mean((2, 3))
            return self.head(lib.cat([x], 1) + 2)

    return Net


EMBER_NET = _models(ember)
TORCH_NET = _models(torch)

BLOCK_NODES = ["conv", "relu", "add", "add_1", "relu_1"]
TRAIN_NODES = (
    ["x", "stem"]
    + [f"blocks.{i}.{name}" for i in (0, 1) for name in BLOCK_NODES]
    + ["mul", "mean", "cat", "add", "head"]
)
EVAL_NODES = [name for name in TRAIN_NODES if name != "mul"]


def _input():
    return ember.tensor(np.linspace(-1, 1, 2 * 3 * 5 * 5, dtype=np.float32).reshape(2, 3, 5, 5))


def test_node_names_follow_the_module_hierarchy():
    net = EMBER_NET()
    with pytest.warns(UserWarning, match="eval mode are a subsequence of those obtained in train"):
        train_nodes, eval_nodes = get_graph_node_names(net)
    assert train_nodes == TRAIN_NODES
    assert eval_nodes == EVAL_NODES
    assert net.training  # the mode is restored


def test_graph_node_names_rest_on_torch_fx_names():
    """The names come from fx node names with the graph-wide counter removed: ember.fx names
    the nodes of the same model as torch.fx does."""
    ours = ember.fx.symbolic_trace(EMBER_NET())
    theirs = torch.fx.symbolic_trace(TORCH_NET())
    assert [n.name for n in ours.graph.nodes] == [n.name for n in theirs.graph.nodes]


def test_resnet18_node_names():
    """torchvision's names for its resnet18, in its order (a block's shortcut after bn2)."""
    train_nodes, eval_nodes = get_graph_node_names(resnet18())
    expected = ["x", "conv1", "bn1", "relu", "maxpool"]
    for layer in range(1, 5):
        for block in (0, 1):
            body = ["conv1", "bn1", "relu", "conv2", "bn2"]
            if layer > 1 and block == 0:
                body += ["downsample.0", "downsample.1"]
            expected += [f"layer{layer}.{block}.{name}" for name in body + ["add", "relu_1"]]
    expected += ["avgpool", "flatten", "fc"]
    assert train_nodes == eval_nodes == expected


def _direct_features(net, x):
    """What the extractor should return, computed by calling the submodules by hand."""
    stem = net.stem(x)
    block0 = net.blocks[0](stem)
    inner = net.blocks[1].relu(net.blocks[1].conv(block0))
    block1 = net.blocks[1](block0)
    scaled = block1 * 0.5 if net.training else block1
    return {"stem": stem, "block0": block0, "inner_add": inner + block0, "blocks": block1,
            "mean": scaled.mean((2, 3))}  # fmt: skip


@pytest.mark.parametrize("training", [True, False])
def test_features_equal_the_submodules_outputs(training):
    net = EMBER_NET().train(training)
    names = {"stem": "stem", "blocks.0": "block0", "blocks.1.add": "inner_add",
             "blocks": "blocks", "mean": "mean"}  # fmt: skip
    extractor = create_feature_extractor(net, return_nodes=names, suppress_diff_warning=True)
    assert extractor.training == training and net.training == training
    x = _input()
    features = extractor(x)
    expected = _direct_features(net, x)
    assert list(features) == list(names.values())
    for name, value in expected.items():
        np.testing.assert_allclose(
            features[name].detach().numpy(), value.detach().numpy(), rtol=1e-6
        )


def test_list_of_names_and_gradients():
    net = EMBER_NET()
    extractor = create_feature_extractor(
        net, ["blocks.1.relu_1", "head"], suppress_diff_warning=True
    )
    x = _input().requires_grad_(True)
    features = extractor(x)
    assert list(features) == ["blocks.1.relu_1", "head"]
    np.testing.assert_allclose(features["head"].detach().numpy(), net(x).detach().numpy())
    features["head"].sum().backward()
    extracted_grad = x.grad.clone()
    x.grad = None
    net(x).sum().backward()
    np.testing.assert_allclose(extracted_grad.numpy(), x.grad.numpy(), rtol=1e-6)


def test_train_and_eval_graphs_switch_with_the_mode():
    net = EMBER_NET()
    extractor = create_feature_extractor(
        net,
        train_return_nodes=["mul"],
        eval_return_nodes={"mean": "mul"},
        suppress_diff_warning=True,
    )
    x = _input()
    blocks = net.blocks(net.stem(x))
    np.testing.assert_allclose(
        extractor(x)["mul"].detach().numpy(), (blocks * 0.5).detach().numpy()
    )
    extractor.eval()
    assert extractor.graph is extractor.eval_graph
    np.testing.assert_allclose(
        extractor(x)["mul"].detach().numpy(), blocks.mean((2, 3)).detach().numpy()
    )
    extractor.train()
    assert extractor.graph is extractor.train_graph
    # only what the outputs need is kept
    assert "head" not in dict(extractor.named_children())


def test_an_extractor_inside_another_module_follows_its_mode():
    net = EMBER_NET()
    extractor = create_feature_extractor(
        net,
        train_return_nodes=["mul"],
        eval_return_nodes={"mean": "mul"},
        suppress_diff_warning=True,
    )
    holder = ember.nn.Sequential(extractor)
    holder.eval()
    assert extractor.graph is extractor.eval_graph
    holder.train()
    assert extractor.graph is extractor.train_graph


def test_leaf_modules_stay_single_nodes():
    class Inner(ember.nn.Module):
        def forward(self, x):
            return x.relu() * 2

    class Outer(ember.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = Inner()
            self.drop = ops.StochasticDepth(0.5, "row")

        def forward(self, x):
            return self.drop(self.inner(x))

    traced_through, _ = get_graph_node_names(Outer())
    assert traced_through == ["x", "inner.relu", "inner.mul", "drop"]  # vision ops are leaves
    as_leaf, _ = get_graph_node_names(Outer(), tracer_kwargs={"leaf_modules": [Inner]})
    assert as_leaf == ["x", "inner", "drop"]


def test_bad_return_nodes_are_named():
    net = EMBER_NET()
    with pytest.raises(ValueError, match="node: 'blocks.2' is not present in model"):
        create_feature_extractor(net, ["blocks.2"])
    with pytest.raises(ValueError, match="Either `return_nodes`"):
        create_feature_extractor(net)
    with pytest.raises(ValueError, match="both should be specified"):
        create_feature_extractor(net, train_return_nodes=["stem"])
    with pytest.raises(ValueError, match="should not be specified"):
        create_feature_extractor(
            net, ["stem"], train_return_nodes=["stem"], eval_return_nodes=["stem"]
        )
    with pytest.raises(TypeError, match="list of node names or a dict"):
        create_feature_extractor(net, "stem")
    with pytest.raises(TypeError, match="model must be an ember.nn.Module, got function"):
        get_graph_node_names(lambda x: x)
    assert net.training


def test_no_warning_when_modes_trace_alike():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_graph_node_names(resnet18())


SCRIPT = """
import torch
import torchvision
from torchvision.models.feature_extraction import create_feature_extractor, get_graph_node_names

model = torchvision.models.resnet18().eval()
extractor = create_feature_extractor(model, {"layer2": "mid", "fc": "logits"})
x = torch.rand(1, 3, 64, 64)
out = extractor(x)
with torch.no_grad():
    same = torch.allclose(out["logits"], model(x))
print(get_graph_node_names(model)[1][-3:], tuple(out["mid"].shape), same)
"""


def test_imports_as_torchvision_under_ember_run(tmp_path):
    script = tmp_path / "features.py"
    script.write_text(textwrap.dedent(SCRIPT))
    result = subprocess.run(
        [sys.executable, "-m", "ember", "run", str(script)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": REPO},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['avgpool', 'flatten', 'fc'] (1, 128, 8, 8) True"
