"""The autograd engine: accumulation, hooks, retain_graph, errors, deep graphs, versions."""

import numpy as np
import pytest
import torch

import ember


def test_accumulates_through_shared_subexpressions():
    data = np.random.default_rng(0).standard_normal((3, 4))
    results = []
    for lib in (torch, ember):
        x = lib.tensor(data, requires_grad=True)
        y = x * 2
        z = (y * y + y.exp()).sum() + y.sum()
        z.backward()
        results.append(x.grad.numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12)


def test_grad_accumulates_across_backward_calls():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])


def test_each_leaf_owns_its_grad_memory():
    a = ember.zeros(3, requires_grad=True)
    b = ember.zeros(3, requires_grad=True)
    (a + b).sum().backward()
    a.grad.mul_(5)
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0, 1.0])


def test_second_backward_without_retain_graph_raises():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 8.0])


def test_non_scalar_backward_needs_gradient():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        (x * 2).backward()


def test_deep_chain_has_no_recursion_limit():
    x = ember.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1e-6
    y.backward()
    assert x.grad.item() == 1.0


def test_inplace_on_leaf_requiring_grad_raises():
    x = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)


def test_modified_saved_tensor_raises_version_error():
    x = ember.ones(3, requires_grad=True)
    y = x * 2
    z = y * y
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_inplace_on_non_leaf_gives_pytorch_gradient():
    data = np.array([0.5, -1.0, 2.0])
    grads = []
    for lib in (torch, ember):
        x = lib.tensor(data, requires_grad=True)
        y = x * 2
        y.mul_(x)
        y[0] = 7.0
        y.sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0])


def test_hooks_and_retain_grad_match_torch():
    out = []
    for lib in (torch, ember):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 3
        y.retain_grad()
        y.register_hook(lambda g: g * 10)
        seen = []
        x.register_hook(lambda g, seen=seen: seen.append(g.detach().numpy().copy()))
        (y * y).sum().backward()
        out.append((y.grad.numpy(), x.grad.numpy(), seen[0]))
    for mine, ref in zip(out[1], out[0]):
        np.testing.assert_allclose(mine, ref)


def test_autograd_grad_and_double_backward_match_torch():
    data = np.array([0.3, -0.7, 1.1])
    out = []
    for lib in (torch, ember):
        x = lib.tensor(data, requires_grad=True)
        y = (x.sin() * x.exp()).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (h,) = lib.autograd.grad(g.sum(), x)
        out.append((g.detach().numpy(), h.numpy()))
    np.testing.assert_allclose(out[1][0], out[0][0], rtol=1e-12)
    np.testing.assert_allclose(out[1][1], out[0][1], rtol=1e-12)


def test_grad_allow_unused():
    x = ember.tensor(1.0, requires_grad=True)
    w = ember.tensor(2.0, requires_grad=True)
    y = x * 3
    with pytest.raises(RuntimeError, match="not have been used"):
        ember.autograd.grad(y, [x, w], retain_graph=True)
    gx, gw = ember.autograd.grad(y, [x, w], allow_unused=True)
    assert gx.item() == 3.0 and gw is None


def test_custom_function_and_gradcheck():
    class Cube(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * g * x * x

    x = ember.tensor([0.5, -1.5], dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(Cube.apply, (x,))
    assert ember.autograd.gradgradcheck(Cube.apply, (x,))
    y = Cube.apply(x)
    assert y.grad_fn is not None and "Cube" in type(y.grad_fn).__name__


def test_wrong_custom_gradient_fails_gradcheck():
    class Bad(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * x

        @staticmethod
        def backward(ctx, g):
            return g

    x = ember.tensor([0.5, 2.0], dtype=ember.float64, requires_grad=True)
    assert not ember.autograd.gradcheck(Bad.apply, (x,), raise_exception=False)


def test_no_grad_and_set_grad_enabled():
    x = ember.ones(2, requires_grad=True)
    with ember.no_grad():
        assert not (x * 2).requires_grad
    with ember.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad

    @ember.no_grad()
    def f():
        return x * 2

    assert not f().requires_grad


def test_anomaly_mode_names_the_forward_op():
    x = ember.tensor([0.0], requires_grad=True)
    with ember.autograd.detect_anomaly():
        y = x.sqrt() * 0
        with pytest.raises(RuntimeError, match="Sqrt.*nan|nan.*Sqrt"):
            (y.sum()).backward()


@pytest.mark.parametrize("grad_dtype", ["float64", "int64", "float16"])
@pytest.mark.parametrize("op", ["conv2d", "mul"])
def test_given_gradient_is_cast_to_the_output_dtype(op, grad_dtype):
    grads = []
    for lib in (torch, ember):
        lib.manual_seed(0)
        x = lib.ones(1, 2, 5, 5, requires_grad=True)
        w = lib.full((3, 2, 3, 3), 0.5)
        y = lib.nn.functional.conv2d(x, w) if op == "conv2d" else x * 3
        g = lib.full(tuple(y.shape), 2, dtype=getattr(lib, grad_dtype))
        (gx,) = lib.autograd.grad(y, x, g)
        y = lib.nn.functional.conv2d(x, w) if op == "conv2d" else x * 3
        y.backward(g)
        assert gx.dtype == x.grad.dtype == lib.float32
        grads.append((gx.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(grads[1][0], grads[0][0], rtol=1e-6)
    np.testing.assert_allclose(grads[1][1], grads[0][1], rtol=1e-6)


def test_second_derivative_through_once_differentiable_raises_like_torch():
    outcomes = []
    for lib in (torch, ember):

        class Square(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            @lib.autograd.function.once_differentiable
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return 2 * x * g

        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = Square.apply(x * 1).sum() * x.sum()  # the gradient reaching Square requires grad
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        with pytest.raises(RuntimeError, match="once_differentiable") as err:
            g.sum().backward()
        outcomes.append((g.detach().tolist(), type(err.value)))
    assert outcomes[1] == outcomes[0]


def test_hook_handles_are_utils_hooks_removable_handles():
    x = ember.ones(2, requires_grad=True)
    handles = [
        x.register_hook(lambda g: g),
        x.register_post_accumulate_grad_hook(lambda t: None),
        ember.nn.Linear(2, 2).register_forward_hook(lambda *a: None),
    ]
    for handle in handles:
        assert isinstance(handle, ember.utils.hooks.RemovableHandle)
        handle.remove()
