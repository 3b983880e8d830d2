"""Asking for a CUDA tensor fails as on PyTorch's CPU build; the CPU keeps working everywhere."""

import pytest
import torch

import ember

CUDA_REQUESTS = {
    "Tensor.to": lambda lib: lib.ones(3).to("cuda"),
    "Tensor.to device=cuda:0": lambda lib: lib.ones(3).to(device="cuda:0"),
    "Tensor.to device and dtype": lambda lib: lib.ones(3).to("cuda", lib.float64),
    "Tensor.to device object": lambda lib: lib.ones(3).to(lib.device("cuda", 1)),
    "Tensor.cuda": lambda lib: lib.ones(3).cuda(),
    "zeros": lambda lib: lib.zeros(3, device="cuda"),
    "ones": lambda lib: lib.ones(3, device="cuda"),
    "empty": lambda lib: lib.empty(3, device="cuda"),
    "full": lambda lib: lib.full((3,), 1.0, device="cuda"),
    "tensor": lambda lib: lib.tensor([1.0], device="cuda"),
    "as_tensor": lambda lib: lib.as_tensor([1.0], device="cuda"),
    "arange": lambda lib: lib.arange(3, device="cuda"),
    "linspace": lambda lib: lib.linspace(0, 1, 3, device="cuda"),
    "eye": lambda lib: lib.eye(2, device="cuda"),
    "rand": lambda lib: lib.rand(3, device="cuda"),
    "randn": lambda lib: lib.randn(3, device="cuda"),
    "randint": lambda lib: lib.randint(0, 3, (2,), device="cuda"),
    "randperm": lambda lib: lib.randperm(3, device="cuda"),
    "zeros_like": lambda lib: lib.zeros_like(lib.ones(2), device="cuda"),
    "full_like": lambda lib: lib.full_like(lib.ones(2), 3.0, device="cuda"),
    "new_zeros": lambda lib: lib.ones(2).new_zeros(3, device="cuda"),
    "new_tensor": lambda lib: lib.ones(2).new_tensor([1.0], device="cuda"),
    "Linear(device=)": lambda lib: lib.nn.Linear(3, 4, device="cuda"),
    "Conv2d(device=)": lambda lib: lib.nn.Conv2d(1, 2, 3, device="cuda"),
    "ConvTranspose1d(device=)": lambda lib: lib.nn.ConvTranspose1d(1, 2, 3, device="cuda"),
    "Embedding(device=)": lambda lib: lib.nn.Embedding(5, 2, device="cuda"),
    "LayerNorm(device=)": lambda lib: lib.nn.LayerNorm(4, device="cuda"),
    "BatchNorm1d(device=)": lambda lib: lib.nn.BatchNorm1d(4, device="cuda"),
    "InstanceNorm1d(device=)": lambda lib: lib.nn.InstanceNorm1d(4, affine=True, device="cuda"),
    "LSTM(device=)": lambda lib: lib.nn.LSTM(2, 3, device="cuda"),
    "GRUCell(device=)": lambda lib: lib.nn.GRUCell(2, 3, device="cuda"),
    "MultiheadAttention(device=)": lambda lib: lib.nn.MultiheadAttention(4, 2, device="cuda"),
    "Module.cuda": lambda lib: lib.nn.Linear(3, 4).cuda(),
    "Module.to": lambda lib: lib.nn.Linear(3, 4).to("cuda"),
    "Module.to_empty": lambda lib: lib.nn.Linear(3, 4).to_empty(device="cuda"),
    "cuda.current_device": lambda lib: lib.cuda.current_device(),
    "cuda.get_device_name": lambda lib: lib.cuda.get_device_name(0),
    "cuda.synchronize": lambda lib: lib.cuda.synchronize(),
}

INDEX_REQUESTS = {
    "Tensor.to(0)": lambda lib: lib.ones(3).to(0),
    "Tensor.cuda(0)": lambda lib: lib.ones(3).cuda(0),
    "zeros(device=0)": lambda lib: lib.zeros(3, device=0),
    "Module.to(0)": lambda lib: lib.nn.Linear(2, 2).to(0),
    "Linear(device=0)": lambda lib: lib.nn.Linear(2, 2, device=0),
}


def raised(fn, lib):
    with pytest.raises(Exception) as info:
        fn(lib)
    return info


@pytest.mark.parametrize("name", sorted(CUDA_REQUESTS))
def test_asking_for_cuda_raises_what_torch_cpu_raises(name):
    expected = raised(CUDA_REQUESTS[name], torch).type
    info = raised(CUDA_REQUESTS[name], ember)
    assert info.type is expected
    assert "no GPU backend" in str(info.value)


@pytest.mark.parametrize("name", sorted(INDEX_REQUESTS))
def test_a_bare_device_index_raises_what_torch_cpu_raises(name):
    expected = raised(INDEX_REQUESTS[name], torch).type
    info = raised(INDEX_REQUESTS[name], ember)
    assert info.type is expected
    assert "no GPU backend" in str(info.value)


def test_the_error_names_the_operation():
    with pytest.raises(AssertionError, match="nn.Linear"):
        ember.nn.Linear(3, 4, device="cuda")
    with pytest.raises(AssertionError, match="Module.to"):
        ember.nn.Linear(3, 4).to("cuda")


def test_cuda_queries_make_programs_choose_the_cpu():
    assert ember.cuda.is_available() is torch.cuda.is_available() is False
    assert ember.cuda.device_count() == torch.cuda.device_count() == 0
    assert ember.cuda.is_bf16_supported() is torch.cuda.is_bf16_supported()
    assert ember.cuda.memory_allocated() == torch.cuda.memory_allocated()
    ember.cuda.manual_seed(0)
    ember.cuda.manual_seed_all(0)
    ember.cuda.empty_cache()


def test_cuda_device_objects_can_still_be_made():
    assert str(ember.device("cuda")) == str(torch.device("cuda"))
    assert repr(ember.device("cuda:1")) == repr(torch.device("cuda:1"))


@pytest.mark.parametrize("dev", [None, "cpu", "cpu:0"])
def test_cpu_requests_give_cpu_tensors(dev):
    dev_obj = None if dev is None else ember.device(dev)
    for spec in (dev, dev_obj):
        made = [
            ember.zeros(2, device=spec),
            ember.tensor([1, 2], device=spec),
            ember.arange(3, device=spec),
            ember.ones(2).to(spec) if spec is not None else ember.ones(2),
            ember.nn.Linear(2, 3, device=spec).weight,
        ]
        assert all(t.device.type == "cpu" for t in made)
    module = ember.nn.Linear(2, 3).to("cpu")
    assert module.weight.device.type == "cpu" and module.cpu() is module


def test_moving_to_the_cpu_keeps_values_and_gradients():
    x = ember.ones(3, requires_grad=True)
    y = x.to("cpu")
    assert y is x
    (x.cpu() * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_invalid_device_strings_are_rejected():
    with pytest.raises(RuntimeError):
        torch.zeros(1, device="gpu")
    with pytest.raises(RuntimeError):
        ember.zeros(1, device="gpu")


@pytest.mark.parametrize(
    "attr", ["is_xpu", "is_mps", "is_mtia", "is_ipu", "is_xla", "is_vulkan", "is_maia", "is_mkldnn"]
)
def test_other_backend_queries_are_false(attr):
    assert getattr(ember.ones(2), attr) is getattr(torch.ones(2), attr) is False


LEGACY_TYPES = [
    "FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "LongTensor", "IntTensor",
    "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor",
]  # fmt: skip


def dtype_name(t):
    return str(t.dtype).split(".")[-1]


@pytest.mark.parametrize("name", LEGACY_TYPES)
def test_legacy_types_construct_tensors_of_their_dtype(name):
    e_type, t_type = getattr(ember, name), getattr(torch, name)
    assert dtype_name(e_type(2, 3)) == dtype_name(t_type(2, 3))
    assert tuple(e_type(2, 3).shape) == tuple(t_type(2, 3).shape) == (2, 3)
    assert tuple(e_type(ember.Size([4])).shape) == tuple(t_type(torch.Size([4])).shape)
    assert tuple(e_type().shape) == tuple(t_type().shape)
    assert e_type([[1, 0]]).tolist() == t_type([[1, 0]]).tolist()
    assert dtype_name(e_type([[1, 0]])) == dtype_name(t_type([[1, 0]]))


@pytest.mark.parametrize("name", LEGACY_TYPES)
def test_isinstance_with_a_legacy_type_checks_dtype(name):
    e_type, t_type = getattr(ember, name), getattr(torch, name)
    for dtype in ("float32", "int64", "bool", "float16"):
        e_t = ember.zeros(2, dtype=getattr(ember, dtype))
        t_t = torch.zeros(2, dtype=getattr(torch, dtype))
        assert isinstance(e_t, e_type) is isinstance(t_t, t_type)
        assert isinstance(e_t, getattr(ember.cuda, name)) is isinstance(
            t_t, getattr(torch.cuda, name)
        )
    assert issubclass(e_type, ember.Tensor) is issubclass(t_type, torch.Tensor)


def test_legacy_types_as_conversion_targets():
    x = ember.tensor([1.5, 2.5])
    assert (
        x.type(ember.LongTensor).tolist()
        == torch.tensor([1.5, 2.5]).type(torch.LongTensor).tolist()
    )
    assert x.type(ember.LongTensor).dtype == ember.int64
    module = ember.nn.Linear(2, 2).type(ember.DoubleTensor)
    assert module.weight.dtype == ember.float64
    same = ember.ones(2)
    assert ember.FloatTensor(same) is same
    with pytest.raises(TypeError):
        torch.FloatTensor(torch.ones(2, dtype=torch.int64))
    with pytest.raises(TypeError):
        ember.FloatTensor(ember.ones(2, dtype=ember.int64))


@pytest.mark.parametrize("name", ["FloatTensor", "LongTensor", "HalfTensor"])
def test_cuda_legacy_types_exist_but_need_a_gpu(name):
    for lib in (torch, ember):
        with pytest.raises(TypeError, match="not available"):
            getattr(lib.cuda, name)(2)
    with pytest.raises(RuntimeError):
        torch.ones(2).type(getattr(torch.cuda, name))
    with pytest.raises(AssertionError, match="no GPU backend"):
        ember.ones(2).type(getattr(ember.cuda, name))
    with pytest.raises(AssertionError, match="no GPU backend"):
        ember.ones(2).type(f"torch.cuda.{name}")


FLAGS = [
    ("backends.cuda.matmul", "allow_tf32"),
    ("backends.cuda.matmul", "allow_fp16_reduced_precision_reduction"),
    ("backends.cuda.matmul", "allow_bf16_reduced_precision_reduction"),
    ("backends.cudnn", "allow_tf32"),
]


def resolve(lib, path):
    obj = lib
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("path,flag", FLAGS)
def test_math_flags_are_settable_and_readable(path, flag):
    e_obj, t_obj = resolve(ember, path), resolve(torch, path)
    assert getattr(e_obj, flag) == getattr(t_obj, flag)
    before = (getattr(e_obj, flag), getattr(t_obj, flag))
    try:
        for value in (not before[1], before[1]):
            setattr(e_obj, flag, value)
            setattr(t_obj, flag, value)
            assert getattr(e_obj, flag) == getattr(t_obj, flag) == value
    finally:
        setattr(e_obj, flag, before[0])
        setattr(t_obj, flag, before[1])


def test_allow_tf32_and_float32_matmul_precision_are_one_setting():
    try:
        for lib in (ember, torch):
            lib.backends.cuda.matmul.allow_tf32 = True
        assert ember.get_float32_matmul_precision() == torch.get_float32_matmul_precision()
        for precision in ("medium", "highest", "high"):
            ember.set_float32_matmul_precision(precision)
            torch.set_float32_matmul_precision(precision)
            assert ember.backends.cuda.matmul.allow_tf32 == torch.backends.cuda.matmul.allow_tf32
    finally:
        ember.set_float32_matmul_precision("highest")
        torch.set_float32_matmul_precision("highest")


def test_unknown_matmul_flags_are_an_error():
    for lib in (ember, torch):
        with pytest.raises(AttributeError, match="Unknown attribute"):
            _ = lib.backends.cuda.matmul.allow_everything
        with pytest.raises(AttributeError, match="Unknown attribute"):
            lib.backends.cuda.matmul.allow_everything = True
    assert ember.backends.cuda.is_built() is torch.backends.cuda.is_built()
