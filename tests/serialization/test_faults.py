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
import warnings
import zipfile

import numpy as np
import pytest
import safetensors.numpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ember
from ember._serialization import zip_writer
from ember.serialization import CheckpointError


def safetensors_bytes():
    return safetensors.numpy.save({"w": np.arange(4, dtype=np.float32), "b": np.ones(3, np.int16)})


@pytest.fixture(scope="module")
def valid_files(legacy_ember_bytes):
    import torch

    buf = io.BytesIO()
    base = torch.arange(6.0)
    torch.save({"w": base.view(2, 3), "t": base[1:], "opt": {"lr": 0.1, "betas": (0.9, 0.99)}}, buf)
    return {
        "ember": legacy_ember_bytes,
        "safetensors": safetensors_bytes(),
        "torch": buf.getvalue(),
    }


def test_failure_half_way_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.pt"
    ember.save({"a": ember.zeros(1000), "b": ember.zeros(1000)}, path)
    calls = []
    add = zip_writer.ZipWriter.add

    def failing_add(self, name, data):
        calls.append(name)
        if name.endswith("data/1"):
            raise OSError("disk full")
        add(self, name, data)

    monkeypatch.setattr(zip_writer.ZipWriter, "add", failing_add)
    with pytest.raises(OSError, match="disk full"):
        ember.save({"a": ember.ones(1000), "b": ember.ones(1000)}, path)
    assert calls[-1] == "ckpt/data/1"
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


def check_consistent(ckpt):
    v = ckpt["version"]
    assert ckpt["x"]._data.min() == v == ckpt["x"]._data.max()
    assert ckpt["y"]._data.min() == v == ckpt["y"]._data.max()
    assert ckpt["y"].shape == (2_000_000,)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_while_writing_never_damages_the_checkpoint(tmp_path):
    """A writer killed mid-save leaves the previous file intact; its temporary file is removed
    by the next save of the same file."""
    path = tmp_path / "ckpt.pt"
    x = ember.zeros(4_000_000)
    ember.save({"version": 0, "x": x, "y": x[::2].clone()}, path)
    rng = np.random.default_rng(0)
    abandoned = 0
    for _ in range(8):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE)
        assert proc.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        check_consistent(ember.load(path))
        abandoned += len(list(tmp_path.glob(".ckpt.pt.*.tmp")))
        x.fill_(-1)
        ember.save({"version": -1, "x": x, "y": x[::2].clone()}, path)
        assert os.listdir(tmp_path) == ["ckpt.pt"]
        check_consistent(ember.load(path))
    assert abandoned > 0  # the kills did interrupt writes


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX processes and locks")
def test_temporary_files_of_live_writers_are_kept(tmp_path):
    import fcntl

    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    gone = finished.pid
    names = {
        "mine": f".m.pt.{os.getpid()}.a1.tmp",  # a live process
        "locked": f".m.pt.{gone}.b2.tmp",  # its writer's lock is still held
        "other": f".n.pt.{gone}.c3.tmp",  # another file's
        "stale": f".m.pt.{gone}.d4.tmp",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"partial")
    with open(tmp_path / names["locked"], "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        ember.save({"a": 1}, tmp_path / "m.pt")
    left = set(os.listdir(tmp_path))
    assert left == {"m.pt", names["mine"], names["locked"], names["other"]}
    assert ember.load(tmp_path / "m.pt") == {"a": 1}


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
            "impossible shape",
        ),
        (
            {"x": {"dtype": "F32", "shape": [0, 2**64], "data_offsets": [0, 0]}},
            b"",
            "impossible shape",
        ),
        (
            {"x": {"dtype": "F32", "shape": [1] * 65, "data_offsets": [0, 4]}},
            bytes(4),
            "65 dimensions",
        ),
        ({"__metadata__": []}, b"", "metadata"),
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


def test_ember_records_pointing_outside_their_storage(legacy_ember_bytes):
    good = legacy_ember_bytes
    (n,) = struct.unpack("<Q", good[:8])
    header = json.loads(good[8 : 8 + n])
    specs = json.loads(header["__metadata__"]["ember.tensors"])
    specs[1]["offset"] = 10**6
    header["__metadata__"]["ember.tensors"] = json.dumps(specs)
    with pytest.raises(CheckpointError, match="outside its storage"):
        ember.load(io.BytesIO(header_file(header, good[8 + n :])))


def test_ember_records_must_match_their_entry(legacy_ember_bytes):
    """An entry of a real dtype holds exactly one tensor; a record claiming another shape (an
    edited header) is refused rather than loaded as a different tensor."""
    good = legacy_ember_bytes
    (n,) = struct.unpack("<Q", good[:8])
    header = json.loads(good[8 : 8 + n])
    edits = [{"shape": [], "strides": []}, {"dtype": "U8"}, {"shape": [1]}, {"strides": [2]}]
    for edit in edits:
        specs = json.loads(header["__metadata__"]["ember.tensors"])
        specs[2].update(edit)
        edited = dict(header, __metadata__=dict(header["__metadata__"]))
        edited["__metadata__"]["ember.tensors"] = json.dumps(specs)
        with pytest.raises(CheckpointError, match="tensor 'i'"):
            ember.load(io.BytesIO(header_file(edited, good[8 + n :])))


def test_ember_stride_zero_shape_beyond_numpy(legacy_ember_bytes):
    good = legacy_ember_bytes
    (n,) = struct.unpack("<Q", good[:8])
    header = json.loads(good[8 : 8 + n])
    specs = json.loads(header["__metadata__"]["ember.tensors"])
    specs[1].update(shape=[2**62], strides=[0])
    header["__metadata__"]["ember.tensors"] = json.dumps(specs)
    with pytest.raises(CheckpointError, match="impossible shape"):
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


def zip_records(records):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in records:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # zipfile warns about duplicate names
                z.writestr(name, data)
    return buf.getvalue()


def test_duplicate_records_are_refused():
    """PyTorch reads the first of two records with one name, zipfile the last: which one a
    file means is ambiguous, so ember refuses it."""
    import torch

    first, second = torch.ones(2), torch.zeros(2)
    buf = io.BytesIO()
    torch.save({"x": first}, buf)
    z = zipfile.ZipFile(buf)
    records = [(n, z.read(n)) for n in z.namelist()]
    storage = next(r for r in records if r[0].endswith("data/0"))
    data = zip_records([*records, (storage[0], second.numpy().tobytes())])
    assert torch.load(io.BytesIO(data))["x"].tolist() == [1.0, 1.0]
    with pytest.raises(CheckpointError, match="several records named 'archive/data/0'"):
        ember.load(io.BytesIO(data))


def test_two_pickles_are_named_as_such():
    data = zip_records([("a/data.pkl", b"\x80\x02}."), ("b/data.pkl", b"\x80\x02]."),
                        ("a/byteorder", b"little")])  # fmt: skip
    with pytest.raises(CheckpointError, match="2 data.pkl records .*'a/data.pkl', 'b/data.pkl'"):
        ember.load(io.BytesIO(data))
    with pytest.raises(CheckpointError, match="no data.pkl"):
        ember.load(io.BytesIO(zip_records([("a/other.pkl", b"")])))
