"""oneDNN's OpenMP threads spin briefly between parallel regions unless the user chose."""

import os
import subprocess
import sys

import pytest

from ember.backends.onednn import library as onednn

pytestmark = pytest.mark.skipif(not onednn.available(), reason="no oneDNN here")

_REPORT = (
    "import os, ember.backends.onednn.library as l; l.available(); "
    "print(os.environ.get('GOMP_SPINCOUNT'), os.environ.get('OMP_WAIT_POLICY'))"
)


def _settings_seen_after_import(**user_env):
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    env.update(user_env)
    out = subprocess.run(
        [sys.executable, "-c", _REPORT], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


def test_short_spin_is_set_when_the_user_set_nothing():
    assert _settings_seen_after_import() == [onednn.OPENMP_SPIN_ROUNDS, "None"]


@pytest.mark.parametrize(
    "user_env, expected",
    [
        ({"OMP_WAIT_POLICY": "PASSIVE"}, ["None", "PASSIVE"]),
        ({"GOMP_SPINCOUNT": "123"}, ["123", "None"]),
    ],
)
def test_a_policy_the_user_set_is_left_alone(user_env, expected):
    assert _settings_seen_after_import(**user_env) == expected
