"""FlopCounterMode counts what PyTorch's counts: the same totals, per module and per op."""

import contextlib

import numpy as np
import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode as TorchFlopCounterMode

import ember
from ember.utils.flop_counter import FlopCounterMode


def mlp(lib):
    nn = lib.nn

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(8, 16)
            self.act = nn.ReLU()
            self.fc2 = nn.Linear(16, 4, bias=False)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x)))

    return MLP(), (3, 5, 8)


def cnn(lib):
    nn = lib.nn
    model = nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 4, 3, stride=2, groups=2),
        nn.ConvTranspose2d(4, 2, 2, stride=2), nn.Flatten(), nn.Linear(2 * 6 * 6, 5),
    )  # fmt: skip
    return model, (2, 3, 7, 7)


def transformer_layer(lib):
    layer = lib.nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True)
    return layer, (2, 6, 16)


def by_name(counter):
    """The counts with ops as strings: PyTorch keys them by op objects, ember by name."""
    return {
        m: {str(op): n for op, n in ops.items()} for m, ops in counter.get_flop_counts().items()
    }


def counts(lib, build):
    """(forward counts, backward counts) of one model, each {module: {op name: flops}}."""
    model, shape = build(lib)
    counter = TorchFlopCounterMode if lib is torch else FlopCounterMode
    x = lib.tensor(np.random.default_rng(0).random(shape, np.float32), requires_grad=True)
    # PyTorch's fused CPU attention kernel goes uncounted; its math path is two counted bmms
    kernel = sdpa_kernel(SDPBackend.MATH) if lib is torch else contextlib.nullcontext()
    with kernel, counter(display=False) as forward:
        out = model(x)
    with counter(display=False) as backward:
        out.sum().backward()
    return (
        forward.get_total_flops(), by_name(forward),
        backward.get_total_flops(), by_name(backward),
    )  # fmt: skip


@pytest.mark.parametrize("build", [mlp, cnn])
def test_counts_match_torch_by_module_and_op(build):
    assert counts(ember, build) == counts(torch, build)


def test_transformer_layer_totals_match_torch_per_module():
    ours, theirs = counts(ember, transformer_layer), counts(torch, transformer_layer)
    assert ours[0] == theirs[0] and ours[2] == theirs[2]
    per_module = lambda c: {m: sum(ops.values()) for m, ops in c.items()}  # noqa: E731
    assert per_module(ours[1]) == per_module(theirs[1])
    assert per_module(ours[3]) == per_module(theirs[3])


@pytest.mark.parametrize(
    "a, b", [((3,), (3,)), ((4, 3), (3,)), ((3,), (3, 5)), ((4, 3), (3, 5)), ((2, 4, 3), (3, 5)),
             ((2, 4, 3), (2, 3, 5)), ((2, 1, 4, 3), (3, 3, 5)), ((6, 2, 4, 3), (3, 5))],
)  # fmt: skip
def test_matmul_shapes_count_as_torch(a, b):
    rng = np.random.default_rng(1)
    x, y = rng.random(a, np.float32), rng.random(b, np.float32)
    found = []
    for lib, counter in ((ember, FlopCounterMode), (torch, TorchFlopCounterMode)):
        with counter(display=False) as c:
            lib.tensor(x) @ lib.tensor(y)
        found.append(by_name(c))
    assert found[0] == found[1]


def test_forward_and_backward_in_one_block_count_backward_to_modules():
    results = []
    for lib, counter in ((ember, FlopCounterMode), (torch, TorchFlopCounterMode)):
        model, shape = mlp(lib)
        x = lib.ones(shape)
        with counter(display=False) as c:
            model(x).sum().backward()
        results.append({m: sum(ops.values()) for m, ops in c.get_flop_counts().items()})
    assert results[0] == results[1]


def test_inactive_counter_leaves_ops_unrecorded_and_nests_with_the_profiler():
    from ember.autograd.function import PROFILER

    x = ember.ones(4, 3)
    with ember.autograd.profiler.profile() as prof, FlopCounterMode(display=False) as c:
        x @ x.T
    assert PROFILER[0] is None
    assert c.get_total_flops() == 2 * 4 * 3 * 4
    assert any(e.name.endswith("MatMul") for e in prof.function_events)


def test_table_lists_modules_and_reentry_is_refused(capsys):
    model, shape = mlp(ember)
    counter = FlopCounterMode(depth=1)
    with counter:
        model(ember.ones(shape))
        with pytest.raises(RuntimeError, match="not reentrant"):
            counter.__enter__()
    table = capsys.readouterr().out
    assert "MLP" in table and "MLP.fc1" not in table and "aten.addmm" in table
    with pytest.raises(NotImplementedError, match="custom_mapping"):
        FlopCounterMode(custom_mapping={"aten.mm": lambda *a: 0})


@pytest.mark.parametrize(
    "equation, shapes",
    [("ij,jk->ik", [(3, 4), (4, 5)]), ("bhqd,bhkd->bhqk", [(2, 3, 5, 4), (2, 3, 6, 4)]),
     ("ij,ij->ij", [(3, 4), (3, 4)]), ("i,i->", [(4,), (4,)]), ("ij,jk->k", [(3, 4), (4, 5)]),
     ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]),
     ("ab,bc,cd,de->ae", [(2, 3), (3, 4), (4, 5), (5, 6)])],
)  # fmt: skip
def test_einsum_counts_as_torch(equation, shapes):
    found = []
    for lib, counter in ((ember, FlopCounterMode), (torch, TorchFlopCounterMode)):
        operands = [lib.ones(s) for s in shapes]
        with counter(display=False) as c:
            lib.einsum(equation, *operands)
        found.append(by_name(c))
    assert found[0] == found[1]


def test_record_function_inside_the_counter_reaches_the_profiler():
    with ember.autograd.profiler.profile() as prof, FlopCounterMode(display=False):
        with ember.autograd.profiler.record_function("block"):
            ember.ones(2, 2) @ ember.ones(2, 2)
    assert "block" in [e.name for e in prof.function_events]
    with FlopCounterMode(display=False) as c, ember.autograd.profiler.record_function("alone"):
        ember.ones(2, 2) @ ember.ones(2, 2)
    assert c.get_total_flops() == 16
