"""A DataLoader worker that dies at any moment (idle, loading, or halfway through sending a
large result) makes the main process raise promptly, with or without ``timeout``, and leaves
no process or /dev/shm file behind.

Each scenario runs in a child interpreter under ``subprocess.run(timeout=...)``, so that a
loader which hangs fails the test instead of hanging it."""

import json
import multiprocessing
import multiprocessing.connection
import os
import subprocess
import sys
import time

import pytest

SCENARIO = r"""
import glob, json, multiprocessing, os, signal, sys, time
import numpy as np

lib, payload, when, timeout, marker = sys.argv[1:6]
timeout = float(timeout)
if lib == "torch":
    import torch.utils.data as data
else:
    import ember.utils.data as data

VICTIM = 1  # batch_size=None and two workers: index 1 is loaded by worker 1


class Data:
    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == VICTIM:
            with open(marker, "w") as f:
                f.write(str(os.getpid()))
            if when == "loading":
                time.sleep(60)
        if payload == "bytes":
            return b"x" * (3 << 20)  # far larger than a pipe holds
        if payload == "arrays":
            return [np.full(100, i, np.float64) for _ in range(4000)]
        return i


def children():
    me = str(os.getpid())
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(stat.replace("stat", "cmdline"), "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if fields[1] == me and fields[0] != "Z" and b"resource_tracker" not in cmd:
            found.append(int(stat.split("/")[2]))
    return found


loader = data.DataLoader(Data(), batch_size=None, num_workers=2, timeout=timeout)
it = iter(loader)
while not os.path.exists(marker) or not open(marker).read():
    time.sleep(0.01)
# "writing": the victim has returned its item and, after a second, is blocked writing a
# result the pipe cannot hold, because this process is not reading; "idle": the victim has
# sent its small result and waits on its index queue; "loading": it is inside __getitem__.
time.sleep(1.0)
pid = int(open(marker).read())
os.kill(pid, signal.SIGKILL)
killed = time.monotonic()
result = {"pid": pid}
try:
    for _ in it:
        pass
    result["error"] = None
except Exception as e:
    result["error"] = [type(e).__name__, str(e)]
result["seconds"] = time.monotonic() - killed
deadline = time.monotonic() + 3
while children() and time.monotonic() < deadline:
    time.sleep(0.02)
result["children"] = children()
result["active_children"] = len(multiprocessing.active_children())
result["shm"] = glob.glob(f"/dev/shm/ember_dl_{os.getpid()}_*")
print(json.dumps(result))
"""


def _run(tmp_path, lib, payload, when, timeout):
    marker = tmp_path / "victim"
    proc = subprocess.run(
        [sys.executable, "-c", SCENARIO, lib, payload, when, str(timeout), str(marker)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _check(result):
    assert result["error"] is not None, "no error after a worker was killed"
    kind, message = result["error"]
    assert kind == "RuntimeError", message
    assert "exited unexpectedly" in message
    assert f"worker 1 (pid {result['pid']})" in message and "SIGKILL" in message
    assert result["seconds"] < 5
    assert result["children"] == [] and result["active_children"] == 0
    assert result["shm"] == []


@pytest.mark.parametrize("timeout", [0, 30])
@pytest.mark.parametrize("payload", ["bytes", "arrays"])
def test_worker_killed_while_writing_a_large_result(tmp_path, payload, timeout):
    _check(_run(tmp_path, "ember", payload, "writing", timeout))


@pytest.mark.parametrize("when", ["idle", "loading"])
def test_worker_killed_while_idle_or_loading(tmp_path, when):
    _check(_run(tmp_path, "ember", "small", when, 0))


def test_torch_raises_runtime_error_in_the_same_case(tmp_path):
    """PyTorch's message depends on which of its checks sees the death first: the worker
    status poll ('killed by signal') or the failed read ('exited unexpectedly')."""
    pytest.importorskip("torch")
    kind, message = _run(tmp_path, "torch", "bytes", "writing", 0)["error"]
    assert kind == "RuntimeError"
    assert "exited unexpectedly" in message or "killed by signal" in message


# ---- the receiving end of a result pipe, on its own -----------------------------------------
def _pipe():
    from ember.utils.data import _result_pipe

    reader, writer = multiprocessing.Pipe(duplex=False)
    return _result_pipe.ResultReceiver(reader), writer


def _framed(messages):
    return b"".join(len(m).to_bytes(8, "little") + m for m in messages)


def test_receiver_assembles_messages_cut_at_every_byte():
    messages = [b"", b"a", b"xyz" * 5]
    stream = _framed(messages)
    for cut in range(1, len(stream)):
        receiver, writer = _pipe()
        os.write(writer.fileno(), stream[:cut])
        got = receiver.read_available()
        os.write(writer.fileno(), stream[cut:])
        got += receiver.read_available()
        assert [bytes(m) for m in got] == messages, cut
        assert receiver.read_available() == [] and not receiver.closed_by_writer
        writer.close()
        receiver.close()


def test_receiver_assembles_a_message_larger_than_the_pipe():
    receiver, writer = _pipe()
    messages = [os.urandom(300_000), b"after"]
    stream = _framed(messages)
    got = []
    for start in range(0, len(stream), 7001):
        os.write(writer.fileno(), stream[start : start + 7001])
        got += receiver.read_available()
    assert [bytes(m) for m in got] == messages
    writer.close()
    receiver.close()


def test_receiver_does_not_block_on_a_half_written_message():
    receiver, writer = _pipe()
    os.write(writer.fileno(), (1000).to_bytes(8, "little") + b"only part")
    assert receiver.read_available() == []  # returns although 991 bytes are missing
    writer.close()  # the writer dies
    assert receiver.read_available() == [] and receiver.closed_by_writer
    receiver.close()


def test_sender_and_receiver_round_trip_through_a_full_pipe():
    from ember.utils.data import _result_pipe

    reader, writer = multiprocessing.Pipe(duplex=False)
    receiver = _result_pipe.ResultReceiver(reader)
    sender = _result_pipe.ResultSender(writer)
    messages = [os.urandom(300_000), b"small", os.urandom(70_000)]
    for m in messages:
        sender.send(m)  # returns at once although the pipe cannot hold them
    got = []
    while len(got) < len(messages):
        multiprocessing.connection.wait([receiver], timeout=5)
        got += receiver.read_available()
    sender.flush()
    assert [bytes(m) for m in got] == messages
    writer.close()
    receiver.close()


# ---- shutting down while workers are blocked sending ----------------------------------------
class LargeResults:
    def __len__(self):
        return 40

    def __getitem__(self, i):
        return bytes([i]) * (3 << 20)


def test_deleting_the_iterator_while_workers_are_blocked_sending_is_prompt():
    import ember.utils.data as edata

    it = iter(edata.DataLoader(LargeResults(), batch_size=None, num_workers=2))
    assert next(it) == bytes([0]) * (3 << 20)
    time.sleep(0.5)  # the workers fill their pipes and wait for this process to read
    start = time.monotonic()
    del it
    assert time.monotonic() - start < 1.5  # they exit when told, without being killed
    assert multiprocessing.active_children() == []
