"""``ember run --nproc-per-node N``: N processes with torchrun's environment, over mpiexec."""

import re
import socket
import subprocess
import sys

import pytest

pytest.importorskip("mpi4py")


def _launched(output):
    """The ranks' report lines (ranks write to one pipe, so lines may be interleaved)."""
    return sorted(re.findall(r"launched rank \d+ of \d+ with [\d.]+", output))


def _ember_run(*args):
    return subprocess.Popen(
        [sys.executable, "-m", "ember", "run", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize(
    "options", [("--nproc-per-node", "2"), ("--standalone", "--nproc_per_node", "3")]
)
def test_launch_on_one_machine(script_path, options):
    n = options[-1]
    proc = _ember_run(*options, script_path("launched_env.py"), n)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, out + err
    assert _launched(out) == [f"launched rank {r} of {n} with 127.0.0.1" for r in range(int(n))]


def test_launch_two_nodes_on_one_machine(script_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    procs = [
        _ember_run(
            "--nnodes",
            "2",
            "--node-rank",
            str(k),
            "--nproc-per-node",
            "2",
            "--master-addr",
            "127.0.0.1",
            "--master-port",
            port,
            script_path("launched_env.py"),
            "4",
        )
        for k in (1, 0)
    ]
    outs = [p.communicate(timeout=90) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, out + err
    lines = sorted(
        m for out, _ in outs for m in re.findall(r"launched rank \d+ of \d+ with [\d.]+", out)
    )
    assert lines == [f"launched rank {r} of 4 with 127.0.0.1" for r in range(4)]


def test_launch_reports_a_failing_rank(tmp_path):
    script = tmp_path / "fails.py"
    script.write_text(
        "import os, torch.distributed as dist\n"
        "dist.init_process_group('gloo')\n"
        "if dist.get_rank() == 1:\n"
        "    raise SystemError('rank 1 is broken')\n"
        "dist.barrier()\n"
    )
    proc = _ember_run("--nproc-per-node", "2", str(script))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "rank 1 is broken" in err and "rank 1 of 2 failed" in err
