"""Multi-process tests: each runs a script under ``mpiexec`` with a time limit, so a hang fails
the test instead of stalling the run. When the suite runs in several pytest processes
(``-n 2 --dist loadgroup``), every test here goes to the same one, so no two jobs of ranks
share the cores at once (PyTorch's gloo aborted when they did)."""

import os
import shutil
import socket
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(HERE, "scripts")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the group marks
def pytest_collection_modifyitems(items):
    for item in items:
        if str(item.path).startswith(HERE + os.sep):
            item.add_marker(pytest.mark.xdist_group("ranks"))


def _mpiexec():
    found = shutil.which("mpiexec") or os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return found if os.path.exists(found) else None


@pytest.fixture
def mpirun():
    pytest.importorskip("mpi4py")
    mpiexec = _mpiexec()
    if mpiexec is None:
        pytest.skip("mpiexec not found (pip install mpich)")

    def run(script, nprocs, *args, timeout=60, expect_ok=True, env=None):
        cmd = [mpiexec, "-n", str(nprocs), sys.executable, os.path.join(SCRIPTS, script), *args]
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
        )
        if expect_ok:
            assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
        return proc

    return run


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


@pytest.fixture
def torch_reference(mpirun):
    """Runs a script under PyTorch's gloo backend on 2 ranks (``--lib torch --port P``), as the
    reference an ember run is compared with. gloo sometimes aborts a rank while starting or
    tearing down ("terminate called without an active exception", killed by signal 15 or 9)
    on a busy machine, so the reference gets up to three tries, each on a fresh port; ember's
    own runs get one."""
    pytest.importorskip("torch")

    def run(script, *args, timeout=120):
        for _ in range(3):
            options = ["--lib", "torch", "--port", _free_port()]
            proc = mpirun(script, 2, *options, *args, timeout=timeout, expect_ok=False)
            if proc.returncode == 0:
                return proc
        raise AssertionError(proc.stdout[-3000:] + proc.stderr[-5000:])

    return run


@pytest.fixture
def free_port():
    return _free_port


@pytest.fixture
def script_path():
    return lambda name: os.path.join(SCRIPTS, name)
