"""How an op is recorded for autograd, against PyTorch: what a node saves (and so which in-place
changes backward refuses), the gradients of Python-number operands, unused outputs of a node
(zeros on the output's device, meta included), and outputs marked non-differentiable; and that
``ArrayFunction.apply_binary`` records the node ``apply`` records."""

import numpy as np
import pytest
import torch

import ember
from ember._ops import arithmetic

LIBS = (ember, torch)


def _two_outputs(lib, seen):
    """A Function with two outputs whose backward reports the devices of its gradients."""

    class Two(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1, x * 2

        @staticmethod
        def backward(ctx, g1, g2):
            seen.append((g1.device.type, g2.device.type, g2.shape, g2.dtype))
            return g1 + 2 * g2

    return Two


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_unused_output_gets_zeros_on_its_device(device):
    results = []
    for lib in LIBS:
        seen = []
        x = lib.ones(3, device=device, requires_grad=True)
        a, _ = _two_outputs(lib, seen).apply(x)
        a.sum().backward()
        (g1_dev, g2_dev, g2_shape, g2_dtype) = seen[0]
        results.append((g1_dev, g2_dev, tuple(g2_shape), str(g2_dtype).split(".")[-1]))
        results.append(x.grad.device.type)
        if device == "cpu":
            results.append(x.grad.tolist())
    assert results[: len(results) // 2] == results[len(results) // 2 :]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("number", [3, 0.9, -2.5])
@pytest.mark.parametrize(
    "expr",
    [
        lambda x, c: x * c,
        lambda x, c: c * x,
        lambda x, c: x / c,
        lambda x, c: c / x,
        lambda x, c: x * c * x / c,
        lambda x, c: c / (x * x),
    ],
)
def test_number_operand_gradients_match_torch(expr, number, dtype):
    data = np.random.default_rng(0).uniform(0.5, 2.0, 5)
    grads = []
    for lib in LIBS:
        x = lib.tensor(data, dtype=getattr(lib, dtype), requires_grad=True)
        y = expr(x, number)
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        results = [y, g]
        if g.requires_grad:  # a second derivative exists where x meets x
            results += lib.autograd.grad(g.sum(), x)
        grads.append(results)
    assert len(grads[0]) == len(grads[1])
    for got, want in zip(grads[0], grads[1]):
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("op", ["tanh", "exp", "sigmoid", "sqrt", "rsqrt", "reciprocal"])
def test_ops_saving_only_their_output_let_the_input_change(op):
    """These ops' gradients read only the output, so (as in PyTorch) an in-place change of
    the input after the op does not stop backward."""
    data = np.random.default_rng(1).uniform(0.5, 2.0, 4).astype(np.float32)
    grads = []
    for lib in LIBS:
        leaf = lib.tensor(data, requires_grad=True)
        x = leaf * 1
        y = getattr(x, op)()
        x.add_(1)
        y.sum().backward()
        grads.append(leaf.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)


@pytest.mark.parametrize(
    "expr", [lambda x, w: x.sin(), lambda x, w: x * w, lambda x, w: w / x, lambda x, w: x.log()]
)
def test_ops_saving_their_input_refuse_an_input_changed_in_place(expr):
    errors = []
    for lib in LIBS:
        leaf = lib.ones(3, requires_grad=True)
        w = lib.full((3,), 2.0, requires_grad=True)
        x = leaf * 1
        y = expr(x, w)
        x.mul_(3)
        with pytest.raises(RuntimeError) as info:
            y.sum().backward()
        errors.append("modified by an inplace operation" in str(info.value))
    assert errors == [True, True]


def test_no_node_without_grad_and_under_no_grad():
    for lib in LIBS:
        a, b = lib.ones(3), lib.ones(3, requires_grad=True)
        assert (a * a).grad_fn is None and not (a * a).requires_grad
        with lib.no_grad():
            c = b * b + 1
        assert c.grad_fn is None and not c.requires_grad
        d = (b * a).tanh()
        assert d.requires_grad and d.grad_fn is not None


def test_non_differentiable_output_of_a_single_output_function():
    flags = []
    for lib in LIBS:

        class Marked(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                out = x * 2
                ctx.mark_non_differentiable(out)
                return out

            @staticmethod
            def backward(ctx, g):
                return g

        y = Marked.apply(lib.ones(2, requires_grad=True))
        flags.append((y.requires_grad, y.grad_fn is None))
    assert flags[0] == flags[1]


def test_saved_tensor_hooks_see_what_mul_saves():
    packed = []
    grads = []
    for lib in LIBS:
        count = [0]

        def pack(t, count=count):
            count[0] += 1
            return t * 1

        x = lib.tensor([1.0, 2.0], requires_grad=True)
        w = lib.tensor([3.0, 4.0], requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            y = x * w
        y.sum().backward()
        packed.append(count[0])
        grads.append((x.grad.tolist(), w.grad.tolist()))
    assert packed[0] == packed[1]
    assert grads[0] == grads[1]


def _node_state(out):
    """What a binary op's node holds: its flags, edges, saved tensors and their versions."""
    node = out.grad_fn
    if node is None:
        return out.tolist(), out.requires_grad, None
    edges = [None if e is None else (id(e[0]), e[1], e[2], e[3]) for e in node._edges]
    saved = [None if t is None else id(t) for t in node._saved or ()]
    return (out.tolist(), out.requires_grad, type(node), node.needs_input_grad, edges, saved,
            getattr(node, "_saved_versions", None), getattr(node, "numbers", None))  # fmt: skip


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
@pytest.mark.parametrize("grads", [(True, True), (True, False), (False, True), (False, False)])
@pytest.mark.parametrize("operands", [("tensor", "tensor"), ("tensor", 0.5), (2.5, "tensor")])
def test_apply_binary_records_what_apply_records(op, grads, operands):
    cls = getattr(arithmetic, op)
    x = ember.tensor([1.0, 2.0], requires_grad=grads[0]) * 1  # a node's output
    y = ember.tensor([3.0, -4.0], requires_grad=grads[1])
    a, b = (t if o == "tensor" else o for t, o in zip((x, y), operands))
    dtype = np.dtype(np.float32)
    assert _node_state(cls.apply_binary(a, b, dtype)) == _node_state(cls.apply(a, b, dtype))
    with ember.no_grad():
        assert _node_state(cls.apply_binary(a, b, dtype)) == _node_state(cls.apply(a, b, dtype))
