"""Multi-process tests: each runs a script under ``mpiexec`` with a time limit, so a hang fails
the test instead of stalling the run."""

import os
import shutil
import subprocess
import sys

import pytest

SCRIPTS = os.path.join(os.path.dirname(__file__), "scripts")


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


@pytest.fixture
def script_path():
    return lambda name: os.path.join(SCRIPTS, name)
