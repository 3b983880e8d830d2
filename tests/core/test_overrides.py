"""ember.overrides, ember.version, ember.types and ember.hub's constants against torch's."""

import pytest
import torch
import torch.overrides

import ember
import ember.overrides


class Handles:
    """A tensor-like class that answers every function it is handed."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return ("handled", func.__name__, len(args))


class Declines:
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return NotImplemented


def test_has_torch_function_matches_torch():
    for args in [(1, 2.0), (Handles(),), (1, Declines()), ()]:
        assert ember.overrides.has_torch_function(args) == torch.overrides.has_torch_function(args)
        assert ember.overrides.has_torch_function_variadic(
            *args
        ) == torch.overrides.has_torch_function_variadic(*args)
    assert not ember.overrides.has_torch_function((ember.ones(1),))
    assert not ember.overrides.has_torch_function_unary(ember.ones(1))
    assert ember.overrides.has_torch_function_unary(Handles())


def test_handle_torch_function_matches_torch():
    def my_op(a, b):
        return a

    h = Handles()
    assert ember.overrides.handle_torch_function(
        my_op, (h,), h, 1
    ) == torch.overrides.handle_torch_function(my_op, (h,), h, 1)
    for lib in (ember, torch):
        with pytest.raises(TypeError, match="no implementation found"):
            lib.overrides.handle_torch_function(my_op, (Declines(),), Declines(), 1)


def test_is_tensor_like_and_function_lists():
    assert ember.overrides.is_tensor_like(ember.ones(1))
    assert ember.overrides.is_tensor_like(Handles()) == torch.overrides.is_tensor_like(Handles())
    assert not ember.overrides.is_tensor_like(3) and not torch.overrides.is_tensor_like(3)
    assert ember.overrides.get_ignored_functions() == set()
    assert ember.overrides.get_overridable_functions() == {}


def test_function_modes_say_they_are_unsupported():
    class Mode(ember.overrides.TorchFunctionMode):
        pass

    with pytest.raises(NotImplementedError, match="modes"):
        with Mode():
            pass


def test_version_module():
    assert ember.version.__version__ == ember.__version__
    assert ember.version.cuda is None and ember.version.hip is None
    assert ember.version.debug is False
    assert isinstance(ember.version.git_version, str)
    for name in ["cuda", "hip", "debug", "git_version", "__version__"]:
        assert hasattr(torch.version, name)


def test_types_module_names():
    import ember.types  # not bound by ``import ember``: the name would shadow the stdlib module

    for name in ["Number", "Device", "FileLike", "Storage", "Tensor", "py_sym_types"]:
        assert hasattr(ember.types, name) and hasattr(torch.types, name), name
    assert ember.types.Tensor is ember.Tensor


def test_hub_constants_match_torch():
    for name in [
        "VAR_DEPENDENCY", "MODULE_HUBCONF", "ENV_GITHUB_TOKEN", "ENV_TORCH_HOME",
        "ENV_XDG_CACHE_HOME", "DEFAULT_CACHE_DIR", "READ_DATA_CHUNK",
    ]:  # fmt: skip
        assert getattr(ember.hub, name) == getattr(torch.hub, name), name
    assert ember.hub.HASH_REGEX.pattern == torch.hub.HASH_REGEX.pattern
    name = "resnet18-f37072fd.pth"
    assert ember.hub.HASH_REGEX.search(name).group(1) == torch.hub.HASH_REGEX.search(name).group(1)


def test_hub_dir_follows_torch_home_rules(monkeypatch, tmp_path):
    monkeypatch.delenv("TORCH_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert ember.hub._torch_home() == torch.hub._get_torch_home()
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    assert ember.hub._torch_home() == torch.hub._get_torch_home()
