"""ember.jit: PyTorch's torch.jit names, running eagerly as PyTorch does with the JIT off."""

import typing

import numpy as np
import pytest
import torch

import ember


def _same(a, b):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6, atol=1e-6)


def _modules(lib):
    class Block(lib.nn.Module):
        scale: lib.jit.Final[float]

        def __init__(self):
            super().__init__()
            self.linear = lib.nn.Linear(3, 2)
            self.scale = 2.0

        @lib.jit.ignore
        def helper(self, x):
            return x * self.scale

        @lib.jit.unused
        def unused_path(self, x):
            return x - 1

        @lib.jit.export
        def exported(self, x):
            return x + 1

        @lib.jit.ignore
        def dropped(self, x):
            return x / 2

        def forward(self, x):
            if lib.jit.is_scripting() or lib.jit.is_tracing():
                return x
            x = lib.jit.annotate(typing.List[int], []) or x  # noqa: UP006 - the TorchScript way
            return self.dropped(self.unused_path(self.helper(self.exported(self.linear(x)))))

    return Block()


def test_decorated_module_runs_like_torch_eager():
    ours, theirs = _modules(ember), _modules(torch)
    weights = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    ours.load_state_dict({k: ember.tensor(v) for k, v in weights.items()})
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
    _same(ours(ember.tensor(x)), theirs(torch.tensor(x)))


def test_script_returns_its_argument():
    def f(x):
        return x * 2

    module = ember.nn.Linear(2, 2)
    assert ember.jit.script(f) is f
    assert ember.jit.script(module) is module
    assert not isinstance(module, ember.jit.ScriptModule)
    assert ember.jit.script_if_tracing(f) is f
    assert ember.jit.freeze(module) is module


def test_script_module_subclass_is_an_ordinary_module():
    class Scaled(ember.jit.ScriptModule):
        def __init__(self):
            super().__init__()
            self.weight = ember.nn.Parameter(ember.ones(2))

        @ember.jit.script_method
        def forward(self, x):
            return x * self.weight

    m = Scaled()
    assert m(ember.full((2,), 3.0)).tolist() == [3.0, 3.0]
    assert [n for n, _ in m.named_parameters()] == ["weight"]


def test_trace_runs_the_function_once_and_returns_it():
    calls = []

    def f(x, y):
        calls.append(1)
        return x + y

    x = ember.ones(2, requires_grad=True)
    traced = ember.jit.trace(f, (x, x))
    assert traced is f and calls == [1]
    assert traced(x, x).requires_grad  # tracing ran under no_grad but leaves f unchanged
    module = ember.nn.Linear(3, 1)
    assert ember.jit.trace(module, ember.ones(1, 3)) is module
    assert ember.jit.trace(f, example_kwarg_inputs={"x": x, "y": x}) is f


def test_trace_with_failing_function_raises_its_error():
    module = ember.nn.Linear(3, 1)
    with pytest.raises(RuntimeError) as error:
        ember.jit.trace(module, ember.ones(1, 5))
    with pytest.raises(RuntimeError) as torch_error:
        torch.nn.Linear(3, 1)(torch.ones(1, 5))
    assert "shape" in str(error.value) and "shape" in str(torch_error.value)
    with pytest.raises(RuntimeError, match="example_inputs"):
        ember.jit.trace(module)


def test_trace_module_runs_each_method():
    class Two(ember.nn.Module):
        def forward(self, x):
            return x

        def other(self, x, y):
            return x * y

    m = Two()
    assert ember.jit.trace_module(m, {"forward": ember.ones(1), "other": (ember.ones(1),) * 2}) is m
    with pytest.raises(AttributeError, match="dict"):
        ember.jit.trace_module(m, [ember.ones(1)])


def test_ignore_rejects_what_torch_rejects():
    with pytest.raises(RuntimeError) as torch_error:
        torch.jit.ignore("yes")
    with pytest.raises(RuntimeError) as error:
        ember.jit.ignore("yes")
    assert str(error.value) == str(torch_error.value)


def test_unused_on_property():
    for lib in (ember, torch):

        class WithProperty(lib.nn.Module):
            @property
            @lib.jit.unused
            def size(self):
                return 3

        assert WithProperty().size == 3


def test_ignore_drop_is_deprecated_as_in_torch():
    def f(x):
        return x

    for lib in (ember, torch):
        with pytest.warns(FutureWarning, match="unused"):
            assert lib.jit.ignore(drop=True)(f) is f


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_fork_and_wait_match_torch():
    def work(a, b=1):
        return a * 10 + b

    assert ember.jit.wait(ember.jit.fork(work, 2, b=3)) == torch.jit.wait(
        torch.jit.fork(work, 2, b=3)
    )
    with pytest.warns(DeprecationWarning, match="fork"):
        fut = ember.jit.fork(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        ember.jit.wait(fut)


@pytest.mark.parametrize(
    "obj, annotation",
    [
        ([1, 2], typing.List[int]),  # noqa: UP006
        ([1, "a"], typing.List[int]),  # noqa: UP006
        ([1, 2], list[int]),
        ({"a": 1}, typing.Dict[str, int]),  # noqa: UP006
        ({"a": "b"}, dict[str, int]),
        ((1, "a"), tuple[int, str]),
        ((1, "a"), tuple[int, int]),
        (None, typing.Optional[int]),  # noqa: UP045
        (3, int | None),
        ("x", typing.Optional[int]),  # noqa: UP045
        (3.0, float),
    ],
)
def test_isinstance_matches_torch(obj, annotation):
    assert ember.jit.isinstance(obj, annotation) == torch.jit.isinstance(obj, annotation)


def test_names_libraries_use():
    assert ember.jit.Final is torch.jit.Final
    assert ember.jit.Attribute(5, int) == 5
    assert ember.jit.interface(int) is int
    assert ember.jit._overload_method(len) is len
    assert ember.jit._overload(len) is len
    assert issubclass(ember.jit.TracerWarning, Warning)
    from ember.jit.annotations import BroadcastingList2, List  # noqa: F401 - importable

    assert List is typing.List  # noqa: UP006


def test_save_and_load_name_the_alternative(tmp_path):
    with pytest.raises(NotImplementedError, match=r"state_dict"):
        ember.jit.save(ember.nn.Linear(1, 1), tmp_path / "m.pt")
    with pytest.raises(NotImplementedError, match=r"state_dict"):
        ember.jit.load(tmp_path / "m.pt")
