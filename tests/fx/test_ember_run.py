"""A torch program tracing with torch.fx under ``ember run``: ``torch`` is then ember's alias
module, whose functions must be recorded too."""

import os
import subprocess
import sys
import textwrap

import torch
import torch.fx

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = """
import torch
import torch.nn.functional as F
from torch import cat

class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 4)

    def forward(self, x):
        y = F.relu(self.fc(x))
        return torch.sigmoid(cat([x, y], dim=1)).sum(1)

gm = torch.fx.symbolic_trace(Block())
print([(n.op, getattr(n.target, "__name__", n.target)) for n in gm.graph.nodes])
x = torch.ones(2, 4)
print(bool(torch.allclose(gm(x), Block.forward(gm, x))), torch.relu is F.relu)
"""


def test_trace_under_ember_run_records_torch_alias_calls(tmp_path):
    script = tmp_path / "trace_block.py"
    script.write_text(textwrap.dedent(SCRIPT))
    result = subprocess.run(
        [sys.executable, "-m", "ember", "run", str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": REPO},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    namespace = {}
    exec(textwrap.dedent(SCRIPT).split("gm = ")[0], namespace)
    gm = torch.fx.symbolic_trace(namespace["Block"]())
    expected = [(n.op, getattr(n.target, "__name__", n.target)) for n in gm.graph.nodes]
    lines = result.stdout.splitlines()
    assert lines[0] == str(expected)
    assert lines[1].startswith("True")


def test_fx_is_imported_on_first_use():
    code = (
        "import sys, ember; loaded = 'ember.fx' in sys.modules; "
        "print(loaded, ember.fx.symbolic_trace.__module__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": REPO},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "ember.fx._symbolic_trace"]
