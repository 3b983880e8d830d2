"""ember.compile's front: OptimizedModule, compiled functions, decorators, settings, and the
compile times it records."""

import inspect

import numpy as np
import pytest
import torch

import ember
from ember._dynamo import exc, utils
from ember._dynamo.eval_frame import OptimizedModule


def _pair(lib):
    lib.manual_seed(0)
    return lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.GELU(), lib.nn.Linear(4, 2))


@pytest.fixture
def torch_distribution_validation_kept():
    """torch.compile switches off torch.distributions' argument validation for the whole
    process; later tests use torch's validation as their oracle."""
    before = torch.distributions.Distribution._validate_args
    yield
    torch.distributions.Distribution.set_default_validate_args(before)


def test_optimized_module_state_dict_parameters_and_attributes_match_torch(
    torch_distribution_validation_kept,
):
    ours, theirs = ember.compile(_pair(ember)), torch.compile(_pair(torch))
    assert isinstance(ours, OptimizedModule) and isinstance(
        theirs, torch._dynamo.eval_frame.OptimizedModule
    )
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert isinstance(ours._orig_mod, ember.nn.Sequential)
    assert list(ours.parameters())[0] is ours._orig_mod[0].weight
    for compiled in (ours, theirs):  # attributes the wrapper lacks come from the original
        compiled._orig_mod.note = "kept"
        assert compiled.note == "kept"
        with pytest.raises(AttributeError):
            getattr(compiled, "missing")  # noqa: B009
    assert ours.training is True
    ours.eval()
    assert ours._orig_mod.training is False


def test_optimized_module_loads_state_dict_back():
    source = _pair(ember)
    compiled = ember.compile(source)
    fresh = ember.compile(
        ember.nn.Sequential(ember.nn.Linear(3, 4), ember.nn.GELU(), ember.nn.Linear(4, 2))
    )
    fresh.load_state_dict(compiled.state_dict())
    x = ember.randn(5, 3)
    np.testing.assert_allclose(fresh(x).detach().numpy(), source(x).detach().numpy(), rtol=1e-6)


def test_compiled_function_keeps_name_and_result():
    def affine(x, w):
        return ember.sigmoid(x * w + 1.0) * 3.0

    compiled = ember.compile(affine)
    assert compiled.__name__ == "affine" and compiled.__wrapped__ is affine
    x, w = ember.randn(4, 5), ember.randn(5)
    for _ in range(2):
        np.testing.assert_allclose(compiled(x, w).numpy(), affine(x, w).numpy(), rtol=1e-6)


def test_decorator_with_and_without_arguments():
    @ember.compile
    def bare(x):
        return x.tanh() * 2

    @ember.compile(fullgraph=True, mode="max-autotune")
    def called(x):
        return x.tanh() * 2

    x = ember.randn(3)
    for _ in range(2):
        np.testing.assert_allclose(bare(x).numpy(), called(x).numpy())
        np.testing.assert_allclose(bare(x).numpy(), (x.tanh() * 2).numpy())


def test_disable_and_eager_backend_run_the_original():
    model = _pair(ember)
    assert ember.compile(model, disable=True) is model
    eager = ember.compile(model, backend="eager")
    assert isinstance(eager, OptimizedModule) and eager.dynamo_ctx is None
    x = ember.randn(2, 3)
    np.testing.assert_allclose(eager(x).detach().numpy(), model(x).detach().numpy())


def test_callable_backend_receives_graph_and_example_inputs():
    seen = []

    def backend(gm, example_inputs):
        seen.append(
            (isinstance(gm, ember.fx.GraphModule), [tuple(t.shape) for t in example_inputs])
        )
        return gm.forward

    compiled = ember.compile(lambda x: x * 2 + 1, backend=backend)
    x = ember.ones(2, 3)
    compiled(x)
    np.testing.assert_allclose(compiled(x).numpy(), np.full((2, 3), 3.0))
    assert seen == [(True, [(2, 3)])]


def test_bad_settings_raise_like_torch():
    with pytest.raises(exc.InvalidBackend, match="nope"):
        ember.compile(_pair(ember), backend="nope")
    with pytest.raises(RuntimeError, match="mode or options"):
        ember.compile(_pair(ember), mode="default", options={})
    with pytest.raises(RuntimeError, match="Unrecognized mode"):
        ember.compile(_pair(ember), mode="fastest")
    with pytest.raises(RuntimeError, match="expected a Module or a callable"):
        ember.compile(3)


def test_signature_matches_torch():
    ours = inspect.signature(ember.compile).parameters
    theirs = inspect.signature(torch.compile).parameters
    assert list(ours) == list(theirs)
    assert [p.default for p in ours.values()] == [p.default for p in theirs.values()]


def test_compile_times_are_recorded():
    utils.reset_compile_times()

    def doubled(x):
        return ember.exp(x) * 2 - 1

    compiled = ember.compile(doubled)
    compiled(ember.ones(3))
    header, rows = utils.compile_times(repr="csv")
    assert header == ["name", "capture", "first_run", "fusion", "kernels"]
    ((name, capture, first_run, fusion, kernels),) = rows
    assert name.endswith("doubled") and kernels == 1
    assert all(isinstance(t, float) and t >= 0 for t in (capture, first_run, fusion))
    assert "doubled" in utils.compile_times() and "doubled" in utils.compile_times(aggregate=True)
    with pytest.raises(ValueError, match="repr"):
        utils.compile_times(repr="json")


def test_compiled_callables_nest_and_fuse_across_the_boundary():
    inner = ember.compile(lambda x: ember.tanh(x) * 2 + 1)

    class Outer(ember.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = ember.compile(ember.nn.Linear(3, 3))

        def forward(self, x):
            return inner(self.fc(x)) * 3 - 1

    model = Outer()
    compiled = ember.compile(model)
    x = ember.randn(2, 3)
    for _ in range(2):
        np.testing.assert_allclose(compiled(x).detach().numpy(), model(x).detach().numpy())
    (entry,) = compiled.dynamo_ctx.cache.values()
    fused = [n for n in entry.graph.graph.nodes if type(n.target).__name__ == "FusedKernel"]
    assert len(fused) == 1
