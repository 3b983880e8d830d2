"""The parts of the torch namespace scripts touch before any model exists."""

import warnings

import pytest
import torch

import ember


def test_device_queries_match_a_cpu_only_torch():
    assert ember.cuda.is_available() is False
    assert ember.cuda.device_count() == 0
    dev = ember.device("cuda:0" if ember.cuda.is_available() else "cpu")
    assert str(dev) == "cpu" and dev == ember.device("cpu")
    assert repr(ember.device("cuda", 1)) == repr(torch.device("cuda", 1))
    with pytest.raises(RuntimeError):
        ember.device("tpu")


def test_backend_flags_are_settable():
    ember.backends.cudnn.benchmark = True
    ember.backends.cudnn.deterministic = True
    assert ember.backends.cudnn.benchmark and ember.backends.cudnn.deterministic
    ember.backends.cudnn.benchmark = False
    assert ember.backends.mps.is_available() is False


def test_threads_and_determinism_switches():
    ember.set_num_threads(1)
    assert ember.get_num_threads() == 1
    ember.set_num_threads(2)
    ember.use_deterministic_algorithms(True)
    assert ember.are_deterministic_algorithms_enabled()
    ember.use_deterministic_algorithms(False)


def test_dtype_info_matches_torch():
    for name in ("float16", "bfloat16", "float32", "float64"):
        a, b = ember.finfo(getattr(ember, name)), torch.finfo(getattr(torch, name))
        assert (a.eps, a.max, a.min, a.tiny, a.bits) == (b.eps, b.max, b.min, b.tiny, b.bits)
    for name in ("int8", "int16", "int32", "int64", "uint8"):
        a, b = ember.iinfo(getattr(ember, name)), torch.iinfo(getattr(torch, name))
        assert (a.max, a.min, a.bits) == (b.max, b.min, b.bits)
    for name in ("float16", "float32", "float64", "int64", "bool"):
        e, t = getattr(ember, name), getattr(torch, name)
        assert (e.is_floating_point, e.itemsize, e.is_signed) == (
            t.is_floating_point,
            t.itemsize,
            t.is_signed,
        )


def test_disabled_grad_scaler_is_identity():
    scaler = ember.cuda.amp.GradScaler(enabled=False)
    loss = ember.tensor(2.0)
    assert scaler.scale(loss) is loss
    assert scaler.get_scale() == 1.0


def test_autocast_accepts_pytorch_arguments():
    x = ember.ones(2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ember.autocast("cpu", dtype=ember.bfloat16):
            y = x * 2
    assert y.dtype == ember.float32


def test_hub_gives_a_clear_offline_error(tmp_path):
    ember.hub.set_dir(str(tmp_path))
    with pytest.raises(RuntimeError, match="not in the local cache"):
        ember.hub.load_state_dict_from_url("https://example.com/weights/model.pth")


def test_thread_count_follows_omp_num_threads_like_torch():
    import subprocess
    import sys

    code = "import {0}; print({0}.get_num_threads())"
    env_one = {**__import__("os").environ, "OMP_NUM_THREADS": "1"}
    counts = [
        subprocess.run(
            [sys.executable, "-c", code.format(lib)], capture_output=True, text=True, env=env_one
        ).stdout.strip()
        for lib in ("torch", "ember")
    ]
    assert counts[1] == counts[0] == "1"
