"""One thread pool: oneDNN's OpenMP threads keep GNU OpenMP's own idle policy, and NumPy's
OpenBLAS stays on the calling thread, since ember's products run on oneDNN."""

import os
import subprocess
import sys

import pytest

from ember.backends.onednn import library as onednn

pytestmark = pytest.mark.skipif(not onednn.available(), reason="no oneDNN here")

_REPORT = (
    "import os, ember; from ember.backends.numpy import blas_pool; "
    "print(os.environ.get('GOMP_SPINCOUNT'), os.environ.get('OMP_WAIT_POLICY'), "
    "*blas_pool.threads())"
)


def _seen_after_import(**user_env):
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    env.update(user_env)
    out = subprocess.run(
        [sys.executable, "-c", _REPORT], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


def test_openmp_policy_is_left_to_the_user_and_openblas_runs_one_thread():
    seen = _seen_after_import()
    assert seen[:2] == ["None", "None"]
    assert seen[2:] and set(seen[2:]) == {"1"}  # NumPy's OpenBLAS and SciPy's
    assert _seen_after_import(OMP_WAIT_POLICY="PASSIVE")[:2] == ["None", "PASSIVE"]


def test_without_onednn_openblas_keeps_its_threads():
    seen = _seen_after_import(EMBER_ONEDNN="0", OPENBLAS_NUM_THREADS="2")
    assert seen[:2] == ["None", "None"]
    assert seen[2:] and set(seen[2:]) == {"2"}


def test_set_num_threads_leaves_openblas_on_one_thread():
    code = _REPORT.replace("print(", "ember.set_num_threads(2); print(")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert set(out.stdout.split()[2:]) == {"1"}
