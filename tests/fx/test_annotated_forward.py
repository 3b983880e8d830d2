"""A forward with type annotations traces as in torch.fx: each placeholder keeps its
parameter's name and carries the annotation as its type."""

import numpy as np
import torch
import torch.fx

import ember
import ember.fx


def _module(lib):
    class Shift(lib.nn.Module):
        def forward(self, x: lib.Tensor, n: int = 2) -> lib.Tensor:
            return x + n

    return Shift()


def test_annotated_placeholders_match_torch():
    theirs = torch.fx.symbolic_trace(_module(torch))
    ours = ember.fx.symbolic_trace(_module(ember))

    def placeholders(graph_module):
        return [
            (n.name, n.target, n.args) for n in graph_module.graph.nodes if n.op == "placeholder"
        ]

    assert placeholders(ours) == placeholders(theirs) == [("x", "x", ()), ("n", "n", (2,))]
    assert [n.name for n in ours.graph.nodes] == [n.name for n in theirs.graph.nodes]
    assert [n.type for n in ours.graph.nodes][:2] == [ember.Tensor, int]
    assert [n.type for n in theirs.graph.nodes][:2] == [torch.Tensor, int]
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(
        ours(ember.tensor(x), 3).numpy(), theirs(torch.tensor(x), 3).numpy()
    )
