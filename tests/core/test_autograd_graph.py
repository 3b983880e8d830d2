"""autograd.graph: saved tensor hooks (pack/unpack calls, gradients, nesting, disabling),
save_on_cpu, graph nodes and gradient edges, each against PyTorch."""

import numpy as np
import pytest
import torch

import ember

DATA = np.random.default_rng(0).standard_normal((3, 4))
OTHER = np.random.default_rng(1).standard_normal((4, 2))


def _logging_hooks(lib, log):
    """A (pack, unpack) pair that records each call and keeps a copy of the saved tensor, so
    backward can only be right if unpack's result is what backward uses."""

    def pack(t):
        log.append(("pack", tuple(t.shape)))
        return t.detach().clone()

    def unpack(t):
        log.append(("unpack", tuple(t.shape)))
        return t

    return pack, unpack


def _custom_function(lib):
    class ScaledProduct(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, None, b)
            return a * b * 3

        @staticmethod
        def backward(ctx, grad):
            a, nothing, b = ctx.saved_tensors
            assert nothing is None
            return grad * b * 3, grad * a * 3

    return ScaledProduct


@pytest.mark.parametrize(
    "program",
    [
        lambda lib, x, w: _custom_function(lib).apply(x, x.detach() + 1).sum(),
        lambda lib, x, w: (x * x).sum(),
        lambda lib, x, w: (x @ w).relu().sum(),
    ],
    ids=["custom_function", "mul", "matmul_relu"],
)
def test_pack_and_unpack_calls_and_gradients_match_torch(program):
    """Ops chosen to save the same tensors in both libraries (built-in ops may differ, see
    docs/compat.md); each saved tensor is packed once and unpacked once in backward."""
    logs, grads = [], []
    for lib in (torch, ember):
        x = lib.tensor(DATA, requires_grad=True)
        w = lib.tensor(OTHER, requires_grad=True)
        log = []
        with lib.autograd.graph.saved_tensors_hooks(*_logging_hooks(lib, log)):
            loss = program(lib, x, w)
        packs_before_backward = len(log)
        loss.backward()
        logs.append((packs_before_backward, sorted(log)))
        grads.append((x.grad.numpy(), None if w.grad is None else w.grad.numpy()))
    assert logs[1] == logs[0]
    np.testing.assert_allclose(grads[1][0], grads[0][0], rtol=1e-12)
    if grads[0][1] is not None:
        np.testing.assert_allclose(grads[1][1], grads[0][1], rtol=1e-12)


def test_unpack_result_is_what_backward_uses():
    results = []
    for lib in (torch, ember):
        x = lib.tensor(DATA, requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t.detach() * 2, lambda t: t):
            (x * x).sum().backward()
        results.append(x.grad.numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12)
    np.testing.assert_allclose(results[1], 4 * DATA, rtol=1e-12)


def _recording(log, label):
    def pack(t):
        log.append(label)
        return t

    return pack


def test_no_pack_without_a_graph_and_innermost_hooks_win():
    for lib in (torch, ember):
        x = lib.tensor(DATA, requires_grad=True)
        log = []
        outer = (_recording(log, "outer"), lambda t: t)
        inner = (_recording(log, "inner"), lambda t: t)
        with lib.autograd.graph.saved_tensors_hooks(*outer):
            with lib.no_grad():
                x * x
            with lib.autograd.graph.saved_tensors_hooks(*inner):
                x * x
            x.relu()
        assert log == ["inner", "inner", "outer"], lib.__name__


def test_in_place_change_after_packing_is_not_checked_as_in_torch():
    for lib in (torch, ember):
        a = lib.tensor(DATA, requires_grad=True) * 1
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            y = a * a
        a.add_(1)
        y.sum().backward()  # no "modified by an inplace operation" error in either


def test_unpack_must_return_a_tensor():
    messages = []
    for lib in (torch, ember):
        x = lib.tensor(DATA, requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: 5, lambda t: 5):
            y = (x * x).sum()
        with pytest.raises(TypeError) as info:
            y.backward()
        messages.append(str(info.value))
    assert messages[1] == messages[0]


def test_disable_saved_tensors_hooks():
    for lib in (torch, ember):
        graph = lib.autograd.graph
        with graph.disable_saved_tensors_hooks("hooks are off here"):
            with pytest.raises(RuntimeError, match="hooks are off here"):
                with graph.saved_tensors_hooks(lambda t: t, lambda t: t):
                    pass
        with graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            with pytest.raises(RuntimeError, match="hooks are off here"):
                with graph.disable_saved_tensors_hooks("hooks are off here"):
                    pass
        with graph.saved_tensors_hooks(lambda t: t, lambda t: t):  # usable again after
            pass


@pytest.mark.parametrize("pin_memory", [False, True])
def test_save_on_cpu_gives_the_same_gradients(pin_memory):
    results = []
    for lib in (torch, ember):
        x = lib.tensor(DATA, requires_grad=True)
        w = lib.tensor(OTHER, requires_grad=True)
        with lib.autograd.graph.save_on_cpu(pin_memory=pin_memory):
            loss = (x @ w).sigmoid().sum()
        # A CPU tensor is saved as itself, or as a copy when pinning: zeroing x after
        # the forward changes w's gradient only in the first case, in both libraries.
        x.data.zero_()
        loss.backward()
        results.append((x.grad.numpy(), w.grad.numpy()))
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def _two_outputs(lib):
    class Halves(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2, a * 3

        @staticmethod
        def backward(ctx, g1, g2):
            return g1 * 2 + g2 * 3

    return Halves


def test_nodes_and_gradient_edges():
    for lib in (torch, ember):
        graph = lib.autograd.graph
        x = lib.tensor(DATA, requires_grad=True)
        y = x.exp()
        first, second = _two_outputs(lib).apply(x)
        assert isinstance(y.grad_fn, graph.Node)
        assert not isinstance(x, graph.Node)
        edge = graph.get_gradient_edge(second)
        assert edge.node is second.grad_fn and edge.output_nr == 1
        leaf_edge = graph.get_gradient_edge(x)
        assert leaf_edge.node.name().endswith("AccumulateGrad") and leaf_edge.output_nr == 0
        with pytest.raises(RuntimeError, match="does not require gradients"):
            graph.get_gradient_edge(lib.ones(2))


def test_increment_version_invalidates_saved_tensors():
    for lib in (torch, ember):
        x = lib.tensor(DATA, requires_grad=True)
        y = x * 1
        z = (y * y).sum()
        lib.autograd.graph.increment_version(y)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.backward()


class _ExpSavingOutput:
    """exp as a custom Function that saves its output, in either library."""

    @staticmethod
    def make(lib):
        class Exp(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                out = x.exp()
                ctx.save_for_backward(out)
                return out

            @staticmethod
            def backward(ctx, g):
                (out,) = ctx.saved_tensors
                return g * out

        return Exp


def test_an_output_saved_by_its_own_node_goes_with_its_last_reference():
    """No reference cycle between an output and the node that saved it: dropped without a
    backward (a forward under grad mode), it is freed at once, not at the next garbage
    collection; a backward later rebuilds it from what the node kept."""
    import gc
    import weakref

    custom_exp = _ExpSavingOutput.make(ember).apply
    ops = [ember.relu, ember.exp, ember.sigmoid, lambda t: ember.softmax(t, 0), custom_exp]
    gc.disable()
    try:
        x = ember.randn(5, requires_grad=True)
        for op in ops:
            y = op(x)
            gone = weakref.ref(y)
            del y
            assert gone() is None
    finally:
        gc.enable()
    grads = []
    for lib in (ember, torch):
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        (_ExpSavingOutput.make(lib).apply(x) * lib.tensor([1.0, 2.0, 3.0])).sum().backward()
        grads.append(x.grad.tolist())
    assert grads[0] == pytest.approx(grads[1])
