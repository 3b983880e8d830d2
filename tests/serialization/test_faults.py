"""Atomic writes, and clear errors for truncated, corrupt and hostile files."""

import io
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
import tracemalloc

import numpy as np
import pytest
import safetensors.numpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ember
from ember._serialization import layout
from ember.serialization import CheckpointError


def ember_bytes():
    a = ember.arange(6.0).reshape(2, 3)
    buf = io.BytesIO()
    ember.save(
        {"a": a, "row": a[1], "n": {3: [1.5, "s", None]}, "i": ember.ones(2, dtype=ember.int8)}, buf
    )
    return buf.getvalue()


def safetensors_bytes():
    return safetensors.numpy.save({"w": np.arange(4, dtype=np.float32), "b": np.ones(3, np.int16)})


@pytest.fixture(scope="module")
def valid_files():
    import torch

    buf = io.BytesIO()
    base = torch.arange(6.0)
    torch.save({"w": base.view(2, 3), "t": base[1:], "opt": {"lr": 0.1, "betas": (0.9, 0.99)}}, buf)
    return {"ember": ember_bytes(), "safetensors": safetensors_bytes(), "torch": buf.getvalue()}


def test_failure_half_way_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    ember.save({"a": ember.zeros(1000), "b": ember.zeros(1000)}, path)
    calls = []

    def failing_write_array(f, arr):
        calls.append(arr.nbytes)
        if len(calls) == 2:
            raise OSError("disk full")
        f.write(arr.tobytes())

    monkeypatch.setattr(layout, "write_array", failing_write_array)
    with pytest.raises(OSError, match="disk full"):
        ember.save({"a": ember.ones(1000), "b": ember.ones(1000)}, path)
    assert len(calls) == 2
    assert os.listdir(tmp_path) == ["ckpt.pt"]  # no temporary file left behind
    old = ember.load(path)
    assert old["a"].sum().item() == 0 and old["b"].sum().item() == 0


def test_new_file_permissions_follow_umask(tmp_path):
    ember.save({}, tmp_path / "a.pt")
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(tmp_path / "a.pt").st_mode & 0o777 == 0o666 & ~umask
    os.chmod(tmp_path / "a.pt", 0o640)
    ember.save({"x": 1}, tmp_path / "a.pt")
    assert os.stat(tmp_path / "a.pt").st_mode & 0o777 == 0o640


WRITER = textwrap.dedent(
    """
    import sys, ember
    path = sys.argv[1]
    x = ember.zeros(4_000_000)  # 16 MB
    print("ready", flush=True)
    for version in range(1, 10**9):
        x.fill_(version)
        ember.save({"version": version, "x": x, "y": x[::2].clone()}, path)
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_while_writing_never_damages_the_checkpoint(tmp_path):
    path = tmp_path / "ckpt.pt"
    ember.save({"version": 0, "x": ember.zeros(4_000_000), "y": ember.zeros(2_000_000)}, path)
    rng = np.random.default_rng(0)
    for _ in range(8):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE)
        assert proc.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        ckpt = ember.load(path)
        v = ckpt["version"]
        assert ckpt["x"]._data.min() == v == ckpt["x"]._data.max()
        assert ckpt["y"]._data.min() == v == ckpt["y"]._data.max() and ckpt["y"].shape == (
            2_000_000,
        )
        for leftover in tmp_path.glob(".ckpt.pt.*.tmp"):  # a killed writer cannot clean up
            leftover.unlink()
    assert os.listdir(tmp_path) == ["ckpt.pt"]


@pytest.mark.parametrize("kind", ["ember", "safetensors", "torch"])
def test_every_truncation_is_a_clear_error(kind, valid_files):
    data = valid_files[kind]
    assert ember.load(io.BytesIO(data)) is not None
    for n in range(len(data)):
        with pytest.raises(CheckpointError):
            ember.load(io.BytesIO(data[:n]))


def header_file(header, data=b""):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


@pytest.mark.parametrize(
    "header, data, message",
    [
        (
            {"x": {"dtype": "F32", "shape": [10**6, 10**6], "data_offsets": [0, 4 * 10**12]}},
            b"",
            "holds 0",
        ),
        (
            {"x": {"dtype": "F32", "shape": [2**62, 2**62], "data_offsets": [0, 16]}},
            bytes(16),
            "needs",
        ),
        ({"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}, b"", "invalid shape"),
        ({"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, bytes(8), "expected 0"),
        (
            {
                "x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                "y": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
            },
            bytes(4),
            "overlap",
        ),
        (
            {"x": {"dtype": "Q9", "shape": [1], "data_offsets": [0, 4]}},
            bytes(4),
            "unsupported dtype",
        ),
        ({"__metadata__": {"a": 1}}, b"", "metadata"),
        ([1, 2], b"", "not a JSON object"),
    ],
)
def test_hostile_headers_allocate_nothing(header, data, message):
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=message):
            ember.load(io.BytesIO(header_file(header, data)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_header_length_beyond_the_file():
    with pytest.raises(CheckpointError, match="header claims"):
        ember.load(io.BytesIO(struct.pack("<Q", 2**63) + b"{}"))


def test_ember_records_pointing_outside_their_storage():
    good = ember_bytes()
    (n,) = struct.unpack("<Q", good[:8])
    header = json.loads(good[8 : 8 + n])
    specs = json.loads(header["__metadata__"]["ember.tensors"])
    specs[1]["offset"] = 10**6
    header["__metadata__"]["ember.tensors"] = json.dumps(specs)
    with pytest.raises(CheckpointError, match="outside its storage"):
        ember.load(io.BytesIO(header_file(header, good[8 + n :])))


def mutate(data, edits, cut):
    buf = bytearray(data)
    for pos, value in edits:
        buf[pos % len(buf)] = value
    return bytes(buf[: len(buf) - cut])


@pytest.mark.parametrize("kind", ["ember", "safetensors", "torch"])
@settings(
    max_examples=3400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    edits=st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=4),
    cut=st.integers(0, 8) | st.just(0),
)
def test_fuzz_mutated_files_raise_only_checkpoint_errors(kind, valid_files, edits, cut):
    try:
        ember.load(io.BytesIO(mutate(valid_files[kind], edits, cut)))
    except CheckpointError:
        pass
