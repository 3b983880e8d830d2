"""Loading costs at most the declared size of the tensors a file really holds, plus a little.

Each hostile file is a few KB; it is loaded in a child process whose address space is capped
at 1.5 GB, and the child reports the outcome, the time the load took and its peak memory.
"""

import io
import os
import pickle
import pickletools
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib

import pytest
import torch

import ember
from ember.serialization import CheckpointError

PROBE = textwrap.dedent(
    """
    import resource, sys, time
    cap = int(1.5 * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    import ember
    from ember.serialization import CheckpointError
    start = time.perf_counter()
    try:
        ember.load(sys.argv[1], weights_only=sys.argv[2] == "True")
        outcome = "loaded"
    except CheckpointError as e:
        outcome = "CheckpointError: " + str(e).replace("\\n", " ")
    print(outcome)
    print(time.perf_counter() - start)
    # this process's own peak (ru_maxrss would include the parent's, inherited at fork)
    status = open("/proc/self/status").read()
    print(int(status.split("VmHWM:")[1].split()[0]) * 1024)
    """
)
MIB = 2**20
pytestmark = pytest.mark.skipif(
    not os.path.exists("/proc/self/status"), reason="measures a child's VmHWM"
)


def probe(path, weights_only=True):
    """``(outcome, seconds, peak bytes)`` of loading ``path`` in a capped child process."""
    run = subprocess.run(
        [sys.executable, "-c", PROBE, str(path), str(weights_only)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    outcome, seconds, peak = run.stdout.strip().splitlines()
    return outcome, float(seconds), int(peak)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """The peak memory of a child that loads a tiny valid checkpoint."""
    path = tmp_path_factory.mktemp("base") / "ok.pt"
    ember.save({"x": ember.ones(4)}, path)
    outcome, _, peak = probe(path)
    assert outcome == "loaded"
    return peak


def zeros_deflated(nbytes):
    """A raw deflate stream of ``nbytes`` zero bytes (a whole number of MiB), made without
    compressing them all: after a full flush each MiB of zeros compresses to the same block."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(bytes(MIB)) + c.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(nbytes // MIB):
        crc = zlib.crc32(bytes(MIB), crc)
    return block * (nbytes // MIB) + c.flush(), crc


def checkpoint_zip(records, inflated=None):
    """A zip of ``records`` ({name: bytes}); ``inflated`` maps names whose bytes are a raw
    deflate stream to ``(size, crc)`` of what they inflate to."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in records.items():
            z.writestr(name, data)
    raw = bytearray(buf.getvalue())
    for name, (size, crc) in (inflated or {}).items():
        info = zipfile.ZipFile(io.BytesIO(bytes(raw))).getinfo(name)
        struct.pack_into("<H", raw, info.header_offset + 8, zipfile.ZIP_DEFLATED)
        struct.pack_into("<I", raw, info.header_offset + 14, crc)
        struct.pack_into("<I", raw, info.header_offset + 22, size)
        central = _central_header(raw, name)
        struct.pack_into("<H", raw, central + 10, zipfile.ZIP_DEFLATED)
        struct.pack_into("<I", raw, central + 16, crc)
        struct.pack_into("<I", raw, central + 24, size)
    return bytes(raw)


def _central_header(raw, name):
    pos = raw.index(b"PK\x01\x02")
    while raw[pos + 46 : pos + 46 + int.from_bytes(raw[pos + 28 : pos + 30], "little")] != (
        name.encode()
    ):
        pos = raw.index(b"PK\x01\x02", pos + 4)
    return pos


def tensor_pickle(numel, size, stride):
    """data.pkl of one float32 tensor on storage '0' of ``numel`` elements."""
    return (
        b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\n"
        b"FloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpu"
        + pickle.dumps(numel, 2)[2:-1]
        + b"tQK\x00"
        + pickle.dumps(tuple(size), 2)[2:-1]
        + pickle.dumps(tuple(stride), 2)[2:-1]
        + b"\x89ccollections\nOrderedDict\n)RtR."
    )


@pytest.mark.parametrize("weights_only", [True, False])
def test_huge_memo_index(tmp_path, baseline, weights_only):
    """LONG_BINPUT 10**9 made Python's unpickler grow its memo array past 6 GB."""
    path = tmp_path / "memo.pt"
    pkl = b"\x80\x02N" + b"r" + struct.pack("<I", 10**9) + b"."
    path.write_bytes(checkpoint_zip({"archive/data.pkl": pkl}))
    outcome, seconds, peak = probe(path, weights_only)
    assert outcome.startswith("CheckpointError") and "memo index 1000000000" in outcome
    assert "memo.pt" in outcome
    assert seconds < 5 and peak < baseline + 32 * MIB


@pytest.mark.parametrize("weights_only", [True, False])
def test_one_flipped_byte_in_a_real_checkpoint(tmp_path, baseline, weights_only):
    buf = io.BytesIO()
    torch.save({f"layer{i}.weight": torch.ones(2) for i in range(5)}, buf)
    z = zipfile.ZipFile(buf)
    records = {name: z.read(name) for name in z.namelist()}
    pkl = records["archive/data.pkl"]
    # BINPUT (a one-byte memo index) becomes LONG_BINPUT (four bytes): a huge index
    put = next(pos for op, _, pos in pickletools.genops(pkl) if op.name == "BINPUT")
    records["archive/data.pkl"] = pkl[:put] + b"r" + pkl[put + 1 :]
    path = tmp_path / "flipped.pt"
    path.write_bytes(checkpoint_zip(records))
    outcome, seconds, peak = probe(path, weights_only)
    assert outcome.startswith("CheckpointError")
    assert seconds < 5 and peak < baseline + 32 * MIB


def test_data_pkl_deflated_from_a_gigabyte(tmp_path, baseline):
    stream, crc = zeros_deflated(2**30)
    path = tmp_path / "bomb.pt"
    records = {"archive/data.pkl": stream, "archive/byteorder": b"little"}
    path.write_bytes(checkpoint_zip(records, {"archive/data.pkl": (2**30, crc)}))
    assert path.stat().st_size < 2 * MIB
    outcome, seconds, peak = probe(path)
    assert outcome.startswith("CheckpointError") and "beyond any real" in outcome
    assert "'archive/data.pkl'" in outcome
    assert seconds < 5 and peak < baseline + 32 * MIB


def test_deflated_storage_costs_its_declared_size_once(tmp_path, baseline):
    """A tensor of 256 MiB stored deflated is inflated straight into the tensor's memory."""
    nbytes = 256 * MIB
    stream, crc = zeros_deflated(nbytes)
    numel = nbytes // 4
    records = {"archive/data.pkl": tensor_pickle(numel, (numel,), (1,)), "archive/data/0": stream}
    path = tmp_path / "storage.pt"
    path.write_bytes(checkpoint_zip(records, {"archive/data/0": (nbytes, crc)}))
    outcome, seconds, peak = probe(path)
    assert outcome == "loaded"
    assert peak < baseline + nbytes + 16 * MIB


def test_unreferenced_storage_costs_nothing(tmp_path, baseline):
    stream, crc = zeros_deflated(1024 * MIB)
    records = {"archive/data.pkl": b"\x80\x02}.", "archive/data/0": stream}
    path = tmp_path / "unused.pt"
    path.write_bytes(checkpoint_zip(records, {"archive/data/0": (1024 * MIB, crc)}))
    outcome, seconds, peak = probe(path)
    assert outcome == "loaded" and peak < baseline + 32 * MIB


@pytest.mark.parametrize(
    "numel, size, stride, message",
    [
        (4, (2**62,), (0,), "impossible shape"),
        (4, (1,) * 65, (1,) * 65, "65 dimensions"),
        (4, (0, 2**64), (1, 1), "impossible shape"),
        (10**12, (1,), (1,), "should hold"),
        (4, (5,), (1,), "outside its storage"),
    ],
)
def test_impossible_tensors_are_checkpoint_errors(numel, size, stride, message):
    records = {"archive/data.pkl": tensor_pickle(numel, size, stride), "archive/data/0": bytes(16)}
    with pytest.raises(CheckpointError, match=message) as info:
        ember.load(io.BytesIO(checkpoint_zip(records)))
    assert "storage '0'" in str(info.value)


def test_records_claiming_more_than_the_file():
    data = bytearray(checkpoint_zip({"archive/data.pkl": b"\x80\x02}."}))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("archive/data.pkl")
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 20, 2**31)  # compressed size
    struct.pack_into("<I", data, central + 24, 2**31)  # size
    assert info.file_size == 4
    with pytest.raises(CheckpointError, match="claims"):
        ember.load(io.BytesIO(bytes(data)))
