"""Complete PyTorch programs, unmodified, under real PyTorch and under ``ember run``.

Each program prints ``RESULT <name> <value>`` lines; data and initial weights come from
NumPy, so both runs must agree within float32 tolerance.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
PROGRAMS = sorted(p.name for p in HERE.glob("*.py") if not p.name.startswith("test_"))


def _results(cmd):
    env = dict(os.environ, PYTHONHASHSEED="0")
    r = subprocess.run(cmd, cwd=HERE, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, f"{' '.join(cmd)} failed:\n{r.stderr[-3000:]}"
    rows = {}
    for line in r.stdout.splitlines():
        if line.startswith("RESULT "):
            _, name, value = line.split(maxsplit=2)
            rows[name] = value
    assert rows, f"{cmd} printed no RESULT lines"
    return rows


@pytest.mark.parametrize("program", PROGRAMS)
def test_program_agrees_with_pytorch(program):
    ref = _results([sys.executable, program])
    got = _results([sys.executable, "-m", "ember", "run", program])
    assert list(got) == list(ref)
    for name, value in ref.items():
        try:
            a, b = float(value), float(got[name])
        except ValueError:
            assert got[name] == value, name
            continue
        assert abs(a - b) <= 1e-4 + 2e-3 * abs(a), f"{program}: {name} torch {a} ember {b}"


@pytest.mark.parametrize("program", PROGRAMS)
def test_compat_reports_everything_available(program):
    r = subprocess.run(
        [sys.executable, "-m", "ember", "compat", program],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stdout[-2000:]
