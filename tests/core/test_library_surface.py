"""Names libraries reach for at import: float8 dtypes, the default device, generic samplers,
torchvision's version, ``torch._assert``."""

import numpy as np
import pytest
import torch

import ember


@pytest.mark.parametrize(
    "name", ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz"]
)
def test_float8_limits_and_casts_match_pytorch(name):
    e, t = ember.finfo(getattr(ember, name)), torch.finfo(getattr(torch, name))
    assert (e.bits, e.max, e.min, e.tiny, e.resolution) == (
        t.bits,
        t.max,
        t.min,
        t.tiny,
        t.resolution,
    )
    if name != "float8_e5m2fnuz":  # PyTorch reports 0.125; the format's epsilon is 0.25
        assert e.eps == t.eps
    values = np.array([0.3, -1.7, 250.0, 1e-3, 7.0], np.float32)
    ours = ember.tensor(values).to(getattr(ember, name)).float().numpy()
    theirs = torch.tensor(values).to(getattr(torch, name)).float().numpy()
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64"])
def test_finfo_resolution_matches_pytorch(name):
    assert (
        ember.finfo(getattr(ember, name)).resolution == torch.finfo(getattr(torch, name)).resolution
    )


def test_default_device_is_the_cpu():
    assert ember.get_default_device() == ember.device("cpu")
    ember.set_default_device("cpu")
    ember.set_default_device(None)
    with pytest.raises(AssertionError, match="GPU"):
        ember.set_default_device("cuda")


def test_samplers_are_generic():
    class Evens(ember.utils.data.Sampler[int]):
        def __iter__(self):
            return iter([0, 2, 4])

    assert list(Evens()) == [0, 2, 4]


def test_versions_and_assert():
    import ember.vision

    assert ember.vision.__version__.startswith("0.28.0") and ember.__version__.startswith("2.13.0")
    ember._assert(True, "never")
    with pytest.raises(AssertionError, match="shape mismatch"):
        ember._assert(False, "shape mismatch")


def test_cuda_stream_names_exist_and_need_a_gpu():
    for name in ("Stream", "Event", "CUDAGraph"):
        assert hasattr(torch.cuda, name)
        with pytest.raises(AssertionError, match="GPU"):
            getattr(ember.cuda, name)()
    with ember.cuda.stream(None):  # no stream: nothing to do, as in PyTorch
        pass
    with pytest.raises(AssertionError, match="GPU"):
        ember.cuda.current_stream()


def test_c_extension_names_libraries_call():
    import ember._C

    assert ember._C._log_api_usage_once("python.ember") is None
    assert ember._C._get_tracing_state() is None
