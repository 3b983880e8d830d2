"""A one-process group: queries and errors against PyTorch's (gloo) in the same cases."""

import json
import socket
import subprocess
import sys

import pytest

pytest.importorskip("mpi4py")

# Messages that are worded differently on purpose (ember names the operation and values).
_OWN_WORDING = {"broadcast bad src", "band float", "avg int", "bad timeout", "max complex"}


def _results(script_path, lib):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    proc = subprocess.run(
        [sys.executable, script_path("process_group_errors.py"), lib, port],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert proc.returncode == 0, proc.stderr
    return {name: (kind, value) for name, kind, value in map(json.loads, proc.stdout.splitlines())}


def test_process_group_matches_torch(script_path):
    pytest.importorskip("torch")
    want, got = _results(script_path, "torch"), _results(script_path, "ember")
    assert want.keys() == got.keys()
    for name in want:
        kind, value = got[name]
        assert kind == want[name][0], (name, got[name], want[name])
        if kind == "ok" and name not in ("world group", "destroy", "async"):
            assert value == want[name][1], (name, value, want[name][1])
        elif kind != "ok" and name not in _OWN_WORDING:
            assert value == want[name][1], (name, value, want[name][1])
    assert "all_reduce" in got["band float"][1] and "non-integral" in got["band float"][1]
    assert "Long" in got["avg int"][1]
    assert "src=3" in got["broadcast bad src"][1]
