"""ember.compiler, ember._dynamo and ember.compile: the names libraries probe, with PyTorch's
signatures (the compiler itself is tested in tests/compile)."""

import inspect

import pytest
import torch

import ember


def f(x):
    return x + 1


@pytest.mark.parametrize("module", [ember.compiler, ember._dynamo])
def test_nothing_is_compiling(module):
    assert module.is_compiling() is False
    assert torch.compiler.is_compiling() is False  # the same answer outside a compiled region


@pytest.mark.parametrize("disable", [ember.compiler.disable, ember._dynamo.disable])
def test_disable_with_and_without_arguments(disable):
    assert disable(f) is f
    assert disable(recursive=False)(f) is f
    assert disable(reason="eager only")(f) is f

    @disable
    def g(x):
        return x * 2

    assert g(3) == 6


def test_signatures_match_torch():
    pairs = [
        (ember.compiler.disable, torch.compiler.disable),
        (ember.compiler.allow_in_graph, torch.compiler.allow_in_graph),
        (ember.compiler.assume_constant_result, torch.compiler.assume_constant_result),
        (ember._dynamo.mark_dynamic, torch._dynamo.mark_dynamic),
    ]
    for ours, theirs in pairs:
        assert list(inspect.signature(ours).parameters) == list(
            inspect.signature(theirs).parameters
        ), ours


def test_decorators_return_the_function():
    assert ember.compiler.allow_in_graph(f) is f
    assert ember.compiler.assume_constant_result(f) is f
    assert ember._dynamo.allow_in_graph(f) is f
    assert ember._dynamo.optimize("inductor")(f) is f
    assert ember.compiler.substitute_in_graph(len)(f) is len
    with ember.compiler.set_stance("force_eager"):
        assert f(1) == 2


def test_compile_wraps_the_model_and_computes_the_same():
    model = ember.nn.Linear(2, 2)
    compiled = ember.compile(model)
    assert compiled._orig_mod is model
    x = ember.ones(3, 2)
    assert ember.equal(compiled(x), model(x))
    assert ember.compile(f, mode="max-autotune", fullgraph=True)(x).tolist() == f(x).tolist()
    assert ember.compile(dynamic=True)(f)(x).tolist() == f(x).tolist()


def test_dynamo_marks_and_reset_accept_torchs_arguments():
    x = ember.ones(2, 3)
    ember._dynamo.mark_dynamic(x, 0)
    ember._dynamo.mark_dynamic(x, [0, 1], min=1, max=8)
    ember._dynamo.maybe_mark_dynamic(x, 1)
    ember._dynamo.mark_static(x)
    ember._dynamo.reset()
    ember.compiler.reset()


def test_dynamo_config_defaults_match_torch_and_patch_restores():
    config = ember._dynamo.config
    for name in ["cache_size_limit", "suppress_errors", "capture_scalar_outputs", "optimize_ddp"]:
        assert getattr(config, name) == getattr(torch._dynamo.config, name), name
    config.suppress_errors = True  # libraries set these
    config.suppress_errors = False
    with config.patch(cache_size_limit=64):
        assert config.cache_size_limit == 64
    assert config.cache_size_limit == 8
    with pytest.raises(AttributeError, match="no_such_setting"):
        with config.patch(no_such_setting=1):
            pass


def test_transform_getitem_to_index_is_a_context():
    from ember._dynamo._trace_wrapped_higher_order_op import TransformGetItemToIndex

    x = ember.arange(5)
    with TransformGetItemToIndex():
        assert x[ember.tensor(3)].item() == 3
