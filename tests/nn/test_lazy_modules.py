"""Lazy modules infer their parameter shapes from the first input, as torch's do."""

import copy

import numpy as np
import pytest
import torch

import ember


def both(build):
    return build(torch), build(ember)


def class_name(module):
    return type(module).__name__


def shapes(module):
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def state_reprs(module):
    return {k: repr(v) for k, v in module.state_dict().items()}


def test_lazy_linear_before_its_first_call():
    t, e = both(lambda lib: lib.nn.LazyLinear(4))
    assert repr(e) == repr(t)
    assert repr(e.weight) == repr(t.weight) == "<UninitializedParameter>"
    assert state_reprs(e) == state_reprs(t)
    assert e.has_uninitialized_params() and t.has_uninitialized_params()
    assert isinstance(e.weight, ember.nn.Parameter) and e.weight.requires_grad
    assert str(e.weight.dtype) == "ember.float32"


def test_using_an_uninitialized_parameter_is_an_error():
    t, e = both(lambda lib: lib.nn.LazyLinear(4))
    for use in (lambda m: m.weight + 1, lambda m: sum(p.numel() for p in m.parameters())):
        with pytest.raises(ValueError, match="uninitialized parameter"):
            use(t)
        with pytest.raises(ValueError, match="uninitialized parameter"):
            use(e)
    with pytest.raises(RuntimeError, match="shape of an uninitialized"):
        _ = t.weight.shape
    with pytest.raises(RuntimeError, match="shape of an uninitialized"):
        _ = e.weight.shape


@pytest.mark.parametrize("bias", [True, False])
def test_lazy_linear_first_call_infers_in_features_and_becomes_linear(bias):
    t, e = both(lambda lib: lib.nn.LazyLinear(4, bias=bias))
    x = np.random.default_rng(0).standard_normal((2, 5, 3)).astype(np.float32)
    t(torch.from_numpy(x))
    e_out = e(ember.from_numpy(x))
    assert class_name(e) == class_name(t) == "Linear"
    assert e.in_features == t.in_features == 3
    assert shapes(e) == shapes(t)
    assert repr(e) == repr(t)
    bound = 1 / np.sqrt(3)
    assert float(ember.abs(e.weight).max()) <= bound
    expected = x @ e.weight.detach().numpy().T
    if bias:
        expected = expected + e.bias.detach().numpy()
    np.testing.assert_allclose(e_out.detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    assert e._forward_pre_hooks == {} and e._load_state_dict_pre_hooks == {}


def test_initialize_parameters_materialises_without_changing_the_class():
    t, e = both(lambda lib: lib.nn.LazyLinear(4))
    t.initialize_parameters(torch.ones(2, 7))
    e.initialize_parameters(ember.ones(2, 7))
    assert class_name(e) == class_name(t) == "LazyLinear"
    assert shapes(e) == shapes(t)
    assert not e.has_uninitialized_params()


def test_module_dtype_conversion_before_the_first_call_is_kept():
    t, e = both(lambda lib: lib.nn.LazyLinear(4).double())
    t(torch.ones(2, 3, dtype=torch.float64))
    e(ember.ones(2, 3, dtype=ember.float64))
    assert str(e.weight.dtype).split(".")[-1] == str(t.weight.dtype).split(".")[-1] == "float64"
    t16, e16 = both(lambda lib: lib.nn.LazyLinear(4, dtype=lib.float16))
    assert str(e16.weight.dtype).split(".")[-1] == str(t16.weight.dtype).split(".")[-1]


def test_loading_a_state_dict_materialises_the_lazy_module():
    source = torch.nn.Linear(5, 4)
    state = {k: v.detach().numpy() for k, v in source.state_dict().items()}
    t, e = both(lambda lib: lib.nn.LazyLinear(4))
    t.load_state_dict(source.state_dict())
    e.load_state_dict({k: ember.from_numpy(v) for k, v in state.items()})
    assert class_name(e) == class_name(t)
    assert shapes(e) == shapes(t)
    assert e.in_features == t.in_features
    np.testing.assert_array_equal(e.weight.detach().numpy(), state["weight"])


def test_loading_an_uninitialized_state_into_an_initialized_module_is_an_error():
    with pytest.raises(RuntimeError, match="shape of an uninitialized"):
        torch.nn.Linear(5, 4).load_state_dict(torch.nn.LazyLinear(4).state_dict())
    with pytest.raises(RuntimeError, match="shape of an uninitialized"):
        ember.nn.Linear(5, 4).load_state_dict(ember.nn.LazyLinear(4).state_dict())


def test_an_uninitialized_state_loads_into_a_lazy_module():
    e = ember.nn.LazyLinear(4)
    e.load_state_dict(ember.nn.LazyLinear(4).state_dict())
    assert e.has_uninitialized_params()


def test_deepcopy_of_a_lazy_module_stays_lazy():
    e = copy.deepcopy(ember.nn.LazyLinear(4))
    assert repr(e.weight) == "<UninitializedParameter>"
    e(ember.ones(1, 2))
    assert tuple(e.weight.shape) == (4, 2)


CONVS = [
    ("LazyConv1d", (2, 3, 9), dict(out_channels=4, kernel_size=3)),
    ("LazyConv1d", (3, 9), dict(out_channels=4, kernel_size=3, bias=False)),
    ("LazyConv2d", (2, 4, 7, 7), dict(out_channels=6, kernel_size=3, groups=2, padding=1)),
    ("LazyConv2d", (3, 7, 7), dict(out_channels=5, kernel_size=(3, 2), stride=2)),
    ("LazyConv3d", (1, 2, 5, 5, 5), dict(out_channels=3, kernel_size=2)),
    ("LazyConvTranspose1d", (2, 3, 6), dict(out_channels=4, kernel_size=3)),
    ("LazyConvTranspose2d", (2, 3, 5, 5), dict(out_channels=2, kernel_size=3, stride=2)),
]


@pytest.mark.parametrize("name,shape,kwargs", CONVS)
def test_lazy_convolutions_infer_in_channels(name, shape, kwargs):
    t, e = both(lambda lib: getattr(lib.nn, name)(**kwargs))
    assert repr(e) == repr(t)
    assert state_reprs(e) == state_reprs(t)
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    t_out = t(torch.from_numpy(x))
    e(ember.from_numpy(x))
    e.load_state_dict({k: ember.from_numpy(v.detach().numpy()) for k, v in t.state_dict().items()})
    e_out = e(ember.from_numpy(x))
    assert class_name(e) == class_name(t)
    assert e.in_channels == t.in_channels
    assert shapes(e) == shapes(t)
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), atol=1e-5)


def test_lazy_convolution_input_errors():
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="Expected 3D \\(unbatched\\) or 4D"):
            lib.nn.LazyConv2d(8, 3)(lib.ones(5, 5))
        with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
            lib.nn.LazyConv1d(4, 3, groups=2)(lib.ones(1, 3, 8))


@pytest.mark.parametrize(
    "name,shape", [("LazyBatchNorm1d", (4, 6)), ("LazyBatchNorm2d", (2, 3, 4, 4)),
                   ("LazyBatchNorm3d", (2, 3, 2, 2, 2))],
)  # fmt: skip
@pytest.mark.parametrize(
    "kwargs", [{}, {"affine": False}, {"track_running_stats": False}, {"momentum": None}]
)
def test_lazy_batch_norm_infers_num_features(name, shape, kwargs):
    t, e = both(lambda lib: getattr(lib.nn, name)(**kwargs))
    assert repr(e) == repr(t)
    assert state_reprs(e) == state_reprs(t)
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    t_out, e_out = t(torch.from_numpy(x)), e(ember.from_numpy(x))
    assert class_name(e) == class_name(t)
    assert e.num_features == t.num_features
    assert shapes(e) == shapes(t)
    np.testing.assert_allclose(e_out.detach().numpy(), t_out.detach().numpy(), atol=1e-5)
    for key, value in t.state_dict().items():
        np.testing.assert_allclose(e.state_dict()[key].numpy(), value.numpy(), atol=1e-6)


def test_uninitialized_tensors_materialize_in_place():
    for lib in (torch, ember):
        p = lib.nn.UninitializedParameter(dtype=lib.float64)
        p.materialize((2, 3))
        assert type(p) is lib.nn.Parameter and tuple(p.shape) == (2, 3)
        assert p.dtype == lib.float64 and p.requires_grad
        b = lib.nn.UninitializedBuffer()
        assert repr(b) == "<UninitializedBuffer>" and not b.requires_grad
        b.materialize((3,), dtype=lib.int64)
        assert type(b) is lib.Tensor and b.dtype == lib.int64


def test_lazy_linear_is_no_longer_an_alias():
    assert ember.nn.LazyLinear is not ember.nn.Linear
    with pytest.raises(TypeError):
        ember.nn.LazyLinear(3, 4, True, None, None, "extra")
