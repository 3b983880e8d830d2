"""ember.load(path, mmap=True): tensors are copy-on-write views of the file, read on access."""

import io
import mmap
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import safetensors.numpy
import torch

import ember

PEAK = textwrap.dedent(
    """
    import sys
    import ember
    out = ember.load(sys.argv[1], mmap=sys.argv[2] == "True")
    assert out["w"].shape == (4096, 4096)
    # this process's own peak (ru_maxrss would include the parent's, inherited at fork)
    status = open("/proc/self/status").read()
    print(int(status.split("VmHWM:")[1].split()[0]) * 1024)
    """
)


def mapped(t):
    base = t._data
    while isinstance(base, np.ndarray):
        base = base.base
    return isinstance(base, memoryview) and isinstance(base.obj, mmap.mmap)


def test_mapped_tensors_equal_read_ones_and_leave_the_file_alone(tmp_path):
    path = tmp_path / "m.pt"
    w = ember.randn(8, 5)
    ember.save({"w": w, "t": w.t(), "b": ember.arange(3), "step": 4}, path)
    before = path.read_bytes()
    out = ember.load(path, mmap=True)
    read = ember.load(path)
    assert mapped(out["w"]) and mapped(out["t"]) and not mapped(read["w"])
    assert np.shares_memory(out["w"]._data, out["t"]._data) and out["step"] == 4
    for k in ("w", "t", "b"):
        np.testing.assert_array_equal(out[k]._data, read[k]._data)
    out["w"].add_(1)  # private pages: the file does not change
    assert path.read_bytes() == before
    np.testing.assert_array_equal(ember.load(path)["w"]._data, w._data)


def test_torch_and_safetensors_files_map_too(tmp_path, legacy_ember_bytes):
    t = torch.arange(6.0).reshape(2, 3)
    torch.save({"t": t}, tmp_path / "t.pt")
    out = ember.load(tmp_path / "t.pt", mmap=True)
    assert mapped(out["t"]) and out["t"].tolist() == t.tolist()
    safetensors.numpy.save_file({"s": np.arange(4, dtype=np.int16)}, str(tmp_path / "s.st"))
    out = ember.load(tmp_path / "s.st", mmap=True)
    assert mapped(out["s"]) and out["s"].tolist() == [0, 1, 2, 3]
    (tmp_path / "old.ckpt").write_bytes(legacy_ember_bytes)
    out = ember.load(tmp_path / "old.ckpt", mmap=True)
    assert mapped(out["row"]) and out["row"].tolist() == [3.0, 4.0, 5.0]
    assert np.shares_memory(out["a"]._data, out["row"]._data)


def test_mmap_needs_a_path(tmp_path):
    buf = io.BytesIO()
    ember.save({"a": ember.ones(2)}, buf)
    with pytest.raises(ValueError, match="file path"):
        ember.load(io.BytesIO(buf.getvalue()), mmap=True)
    (tmp_path / "empty.pt").write_bytes(b"")
    with pytest.raises(ember.serialization.CheckpointError, match="empty"):
        ember.load(tmp_path / "empty.pt", mmap=True)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads VmHWM")
def test_mapping_reads_no_tensor_bytes(tmp_path):
    path = tmp_path / "big.pt"
    ember.save({"w": ember.ones(4096, 4096)}, path)  # 64 MiB

    def peak(use_mmap):
        run = subprocess.run(
            [sys.executable, "-c", PEAK, str(path), str(use_mmap)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        return int(run.stdout)

    read, mapped_peak = peak(False), peak(True)
    assert read - mapped_peak > 48 * 2**20
