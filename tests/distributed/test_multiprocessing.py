"""torch.multiprocessing: spawn over mpiexec, the env:// rendezvous of separate MPI jobs, and
tensors in shared memory."""

import os
import socket
import subprocess
import sys

import pytest

pytest.importorskip("mpi4py")


def _run(cmd, timeout=60, env=None):
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )


def test_spawn_runs_a_ddp_tutorial_style_script(script_path):
    proc = _run([sys.executable, script_path("spawn_ddp.py")])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("trained in step") == 2
    assert "parent: all processes finished" in proc.stdout


def test_spawn_reports_the_child_exception(script_path):
    proc = _run([sys.executable, script_path("spawn_ddp.py"), "--fail"])
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "caught ProcessRaisedException from process 1" in proc.stdout
    assert "KeyError: 'rank 1 fails on purpose'" in proc.stdout


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_separate_mpi_jobs_join_through_master_addr(script_path):
    from ember.multiprocessing.spawn import _mpiexec

    port = str(_free_port())
    procs = [
        subprocess.Popen(
            [_mpiexec(), "-n", "1", sys.executable, script_path("rendezvous_join.py")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={
                **os.environ,
                "RANK": str(r),
                "WORLD_SIZE": "3",
                "MASTER_ADDR": "127.0.0.1",
                "MASTER_PORT": port,
            },  # fmt: skip
        )
        for r in (2, 0, 1)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, out + err
    assert sorted(o for o, _ in outs) == [f"joined rank {r} of 3\n" for r in range(3)]


def test_process_without_mpiexec_cannot_join_a_larger_group(script_path):
    env = {"RANK": "1", "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "1"}
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "HYDI_"))}
    proc = subprocess.run(
        [sys.executable, script_path("rendezvous_join.py")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **env},
    )
    assert proc.returncode != 0
    assert "DistNetworkError" in proc.stderr and "not started by mpiexec" in proc.stderr


def test_shared_memory_tensors_for_hogwild(script_path):
    proc = _run([sys.executable, script_path("hogwild_shared_memory.py")])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "the parent sees both children's updates" in proc.stdout


def test_share_memory_in_one_process():
    import ember as torch

    t = torch.arange(6.0).reshape(2, 3)
    view_before = t.tolist()
    assert not t.is_shared()
    assert t.share_memory_() is t
    assert t.is_shared() and t.tolist() == view_before
    assert t[1].is_shared()  # a view of shared memory is shared


def test_module_share_memory_shares_parameters_and_buffers_like_torch():
    import torch

    import ember

    shared = []
    for lib in (torch, ember):
        model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.BatchNorm1d(4))
        assert model.share_memory() is model
        shared.append([t.is_shared() for t in (*model.parameters(), *model.buffers())])
    assert shared[1] == shared[0] and all(shared[0])


def test_spawned_child_refuses_a_payload_others_can_write(tmp_path):
    from ember.multiprocessing import _child

    payload = tmp_path / "payload.pkl"
    payload.write_bytes(b"not read")
    tmp_path.chmod(0o700)
    payload.chmod(0o666)
    with open(payload, "rb") as f, pytest.raises(PermissionError, match="not private"):
        _child._check_private(str(payload), f)
    tmp_path.chmod(0o777)
    with pytest.raises(PermissionError, match="not private"):
        _child._check_private(str(tmp_path))
