"""Ecosystem tests run a script a user would write twice, in fresh processes: under
``ember run`` (``import torch`` is ember) and under plain Python (the real PyTorch), and compare
the JSON each prints last."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(script, under_ember):
    command = [sys.executable, "-m", "ember", "run"] if under_ember else [sys.executable]
    env = {**os.environ, "PYTHONPATH": REPO}
    r = subprocess.run(
        [*command, str(script)], capture_output=True, text=True, timeout=300, env=env,
        cwd=script.parent,
    )  # fmt: skip
    who = "ember run" if under_ember else "torch"
    assert r.returncode == 0, f"{who} failed:\n{r.stderr}"
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture
def run_under_both(tmp_path):
    """``run_under_both(source) -> (ember's result, torch's result)``."""

    def run(source):
        script = tmp_path / "user_script.py"
        script.write_text(textwrap.dedent(source))
        return _run(script, under_ember=True), _run(script, under_ember=False)

    return run
