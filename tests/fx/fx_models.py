"""The same small programs written once for torch and once for ember, and ways to compare
the graphs both libraries trace from them."""

import inspect

import numpy as np
import torch
import torch.fx

import ember
import ember.fx


def build(lib):
    """Model classes and functions over lib (torch or ember), keyed by name."""
    nn, F = lib.nn, lib.nn.functional

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(6, 8)
            self.act = nn.ReLU()
            self.fc2 = nn.Linear(8, 3)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x)))

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 4, 3, padding=1),
                nn.BatchNorm2d(4),
                nn.ReLU(),
                nn.MaxPool2d(2),
            )
            self.head = nn.Linear(4 * 4 * 4, 5)

        def forward(self, x):
            x = self.features(x)
            x = lib.flatten(x, 1)
            return self.head(x)

    class Residual(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(4)
            self.conv2 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(4)

        def forward(self, x):
            out = lib.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return lib.relu(out + x)

    class Reshaper(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(12, 12)
            self.scale = nn.Parameter(lib.ones(12))

        def forward(self, x):
            n = x.size(0)
            flat = x.view(n, -1)
            y = self.proj(flat) * self.scale
            both = lib.cat([flat, F.relu(y)], dim=1)
            return both[:, 2:14] - y[0]

    def gated(x, y, use_gate):
        if use_gate:
            return lib.sigmoid(x) * y
        return x + y

    def relu_model(x):
        return lib.relu(x * 2.0) + 1

    return {
        "MLP": MLP,
        "CNN": CNN,
        "Residual": Residual,
        "Reshaper": Reshaper,
        "gated": gated,
        "relu_model": relu_model,
    }


INPUT_SHAPES = {
    "MLP": (4, 6),
    "CNN": (2, 3, 8, 8),
    "Residual": (2, 4, 5, 5),
    "Reshaper": (3, 3, 4),
    "relu_model": (3, 5),
}


def pair(name, seed=0):
    """The torch and ember instances of a model class, with the same weights (float32)."""
    torch.manual_seed(seed)
    tmod = build(torch)[name]()
    emod = build(ember)[name]()
    state = {k: ember.tensor(v.detach().numpy().copy()) for k, v in tmod.state_dict().items()}
    result = emod.load_state_dict(state)
    assert not result.missing_keys and not result.unexpected_keys
    return tmod, emod


def inputs(shape, seed=1):
    array = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return torch.tensor(array), ember.tensor(array)


def _leaf(value):
    """A comparable stand-in for a constant argument (dtypes and devices by their name)."""
    if isinstance(value, (torch.dtype, ember.dtype)):
        return ("dtype", str(value).split(".")[-1])
    return value


def _structure(arg, fx_module):
    """args/kwargs with nodes replaced by their names and constants made comparable."""
    return fx_module.node.map_aggregate(
        arg, lambda x: ("node", x.name) if isinstance(x, fx_module.Node) else _leaf(x)
    )


def _bound_arguments(signature, args, kwargs):
    """Arguments by parameter name with defaults filled in, or None if they do not bind."""
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return None
    bound.apply_defaults()
    return dict(bound.arguments)


def node_summary(graph, fx_module, signatures=None):
    """(op, name, target name, args, kwargs) for every node, nodes written as their names.

    signatures[i], when given for a call_function node, binds its arguments to parameter
    names with defaults applied: torch records some functional calls with their defaulted
    keyword arguments spelled out (F.relu(x) as relu(x, inplace=False)), ember as written.
    """
    rows = []
    for i, n in enumerate(graph.nodes):
        target = n.target if isinstance(n.target, str) else n.target.__name__
        args, kwargs = _structure(n.args, fx_module), _structure(n.kwargs, fx_module)
        signature = (signatures or {}).get(i)
        bound = None if signature is None else _bound_arguments(signature, args, kwargs)
        if bound is not None:
            args, kwargs = (), bound
        rows.append((n.op, n.name, target, args, kwargs))
    return rows


def assert_same_graph(torch_graph, ember_graph):
    """Both graphs have the same nodes: op, name, target name and argument structure."""
    signatures = {}
    for i, n in enumerate(ember_graph.nodes):
        if n.op == "call_function":
            try:
                signatures[i] = inspect.signature(n.target)
            except (TypeError, ValueError):
                pass
    expected = node_summary(torch_graph, torch.fx, signatures)
    actual = node_summary(ember_graph, ember.fx, signatures)
    assert len(actual) == len(expected), f"{len(actual)} nodes, torch has {len(expected)}"
    for e_row, t_row in zip(actual, expected):
        assert e_row == t_row, f"ember node {e_row} != torch's {t_row}"


def to_numpy(value):
    return value.detach().numpy()
