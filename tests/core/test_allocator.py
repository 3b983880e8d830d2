"""The malloc tuning applied at import, and its opt-out."""

import subprocess
import sys

PROBE = "import ember._allocator as a; print(a.tune())"


def _tune_in_fresh_process(env_value):
    env = {"EMBER_MALLOC_TUNING": env_value, "PATH": ""}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_thresholds_are_set_on_linux_and_can_be_turned_off():
    expected = "True" if sys.platform.startswith("linux") else "False"
    assert _tune_in_fresh_process("1") == expected
    assert _tune_in_fresh_process("0") == "False"
