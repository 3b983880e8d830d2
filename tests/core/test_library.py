"""ember.library and ember.ops: the same operator code under ember and torch gives the same
values, gradients and errors."""

import itertools

import numpy as np
import pytest
import torch

import ember

_names = itertools.count()


def _ns():
    """A namespace no other test used, in both libraries' global operator registries."""
    return f"embertest{next(_names)}"


def _same(a, b):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-6)


X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype=np.float32)


def _scaled_square(lib, ns, with_autograd=True):
    """A custom op ``ns::scaled_square(x, scale) = scale * x * x`` written for either library."""
    Tensor = lib.Tensor

    @lib.library.custom_op(f"{ns}::scaled_square", mutates_args=())
    def scaled_square(x: Tensor, scale: float) -> Tensor:
        return x * x * scale

    seen = {}

    def setup_context(ctx, inputs, output):
        x, scale = inputs
        ctx.save_for_backward(x)
        ctx.scale = scale

    def backward(ctx, grad):
        seen["needs_input_grad"] = ctx.needs_input_grad
        (x,) = ctx.saved_tensors
        return grad * 2 * x * ctx.scale, None

    if with_autograd:
        scaled_square.register_autograd(backward, setup_context=setup_context)
    return scaled_square, seen


def test_custom_op_forward_backward_match_torch():
    ns = _ns()
    results = {}
    for lib in (ember, torch):
        op, seen = _scaled_square(lib, ns)
        x = lib.tensor(X, requires_grad=True)
        y = op(x, 3.0)
        (y * lib.arange(6.0).reshape(2, 3)).sum().backward()
        results[lib.__name__] = (y, x.grad, seen["needs_input_grad"])
        via_ops = getattr(lib.ops, ns).scaled_square
        _same(via_ops(x, 3.0), y)
        _same(via_ops.default(x, scale=3.0), y)
    (y, g, needs), (ty, tg, tneeds) = results["ember"], results["torch"]
    _same(y, ty)
    _same(g, tg)
    assert needs == tneeds == (True, False)


def test_custom_op_without_autograd_fails_at_backward_like_torch():
    ns = _ns()
    messages, outputs = [], []
    for lib in (ember, torch):
        op, _ = _scaled_square(lib, ns, with_autograd=False)
        x = lib.tensor(X, requires_grad=True)
        y = op(x, 2.0)
        outputs.append(y)
        with pytest.raises(RuntimeError) as error:
            y.sum().backward()
        messages.append(str(error.value))
    _same(*outputs)  # the forward works
    assert messages[0] == messages[1]


def test_custom_op_output_does_not_require_grad_without_grad_inputs():
    op, _ = _scaled_square(ember, _ns())
    y = op(ember.tensor(X), 2.0)
    assert not y.requires_grad


def test_backward_with_wrong_gradient_count_is_an_error():
    for lib in (ember, torch):
        ns = _ns()

        @lib.library.custom_op(f"{ns}::double", mutates_args=())
        def double(x: lib.Tensor) -> lib.Tensor:
            return x * 2

        double.register_autograd(lambda ctx, g: (g, g))
        x = lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError):
            double(x).sum().backward()


def test_custom_op_validation_matches_torch():
    for lib in (ember, torch):
        with pytest.raises(ValueError, match="type annotation"):
            lib.library.custom_op(f"{_ns()}::f", mutates_args=())(lambda x: x)
        with pytest.raises(TypeError, match="mutates_args"):
            lib.library.custom_op(f"{_ns()}::f")(lambda x: x)

    def annotated(x: ember.Tensor) -> ember.Tensor:
        return x

    with pytest.raises(ValueError, match="namespace"):
        ember.library.custom_op("no_namespace", mutates_args=())(annotated)


def test_keyword_only_arguments_and_defaults():
    ns = _ns()
    outputs = []
    for lib in (ember, torch):

        @lib.library.custom_op(f"{ns}::affine", mutates_args=())
        def affine(x: lib.Tensor, *, weight: float = 2.0, bias: float = 0.5) -> lib.Tensor:
            return x * weight + bias

        x = lib.tensor(X)
        outputs.append((affine(x), affine(x, bias=-1.0), affine(x, weight=0.5, bias=1.0)))
    for ours, theirs in zip(*outputs):
        _same(ours, theirs)


def test_register_fake_and_kernel():
    ns = _ns()
    calls = []

    @ember.library.custom_op(f"{ns}::copy", mutates_args=())
    def copy(x: ember.Tensor) -> ember.Tensor:
        calls.append("generic")
        return x.clone()

    @ember.library.register_fake(f"{ns}::copy")
    def _(x):
        return ember.empty_like(x)

    assert callable(_)
    copy(ember.ones(2))

    @ember.library.register_kernel(f"{ns}::copy", "cpu")
    def _cpu(x):
        calls.append("cpu")
        return x.clone()

    copy(ember.ones(2))
    assert calls == ["generic", "cpu"]


def test_library_define_and_impl_match_torch():
    ns = _ns()
    results = []
    for lib in (ember, torch):
        library = lib.library.Library(ns, "DEF")
        assert library.define("mul3(Tensor x, float s) -> Tensor") == "mul3"
        library.impl("mul3", lambda x, s: x * s * 3, "CompositeImplicitAutograd")
        x = lib.tensor(X, requires_grad=True)
        y = getattr(lib.ops, ns).mul3(x, 2.0)
        y.sum().backward()
        results.append((y, x.grad))
        with pytest.raises(RuntimeError, match="expected at most 2 argument"):
            getattr(lib.ops, ns).mul3(x, 2.0, 5)
        with pytest.raises(AttributeError):
            getattr(lib.ops, ns).not_defined  # noqa: B018
    for ours, theirs in zip(*results):
        _same(ours, theirs)


def test_library_impl_by_device_and_missing_kernel():
    ns = _ns()
    library = ember.library.Library(ns, "FRAGMENT")
    library.define("add_one(Tensor x) -> Tensor")
    with pytest.raises(NotImplementedError, match="no implementation"):
        getattr(ember.ops, ns).add_one(ember.ones(1))
    ember.library.impl(f"{ns}::add_one", "cpu", lambda x: x + 1)
    assert getattr(ember.ops, ns).add_one(ember.ones(1)).item() == 2.0
    with pytest.raises(ValueError, match="Unsupported kind"):
        ember.library.Library(ns, "WRONG")
    with pytest.raises(RuntimeError, match="does not exist"):
        library.impl("never_defined", lambda x: x, "CPU")
