"""Under ``ember run`` (``import torch`` gives ember) reprs name ``torch`` as PyTorch's do;
imported as ember they name ``ember``."""

import os
import subprocess
import sys

import ember

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = """
import torch
import torch.fx

x = torch.arange(6, dtype=torch.float64).reshape(2, 3)
print(x.shape, x.size(), torch.Size([4]))
print(repr(torch.float32), str(torch.int64), torch.bfloat16, [x.dtype], {"dtype": torch.bool})
print(repr(torch.device("cpu")), torch.device("cpu"), repr(x.device))
print(torch.finfo(torch.float32))
print(torch.iinfo(torch.int8))
print(repr(x))
print(torch.ones(2, dtype=torch.int32), torch.zeros(0, 3, dtype=torch.float16))
print(torch.tensor([1.5], requires_grad=True) * 2)


class Scale(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.arange(3.0))
        self.linear = torch.nn.Linear(3, 1)

    def forward(self, x):
        return self.linear(x * self.weight).to(torch.float64)


model = Scale()
print(model)
print(model.weight)
print([(name, p.dtype, p.shape) for name, p in model.named_parameters()])
traced = torch.fx.symbolic_trace(model)
print(traced(torch.ones(3)).dtype)
"""


def _output(script, under_ember):
    command = [sys.executable, "-m", "ember", "run"] if under_ember else [sys.executable]
    env = {**os.environ, "PYTHONPATH": REPO}
    r = subprocess.run(
        [*command, str(script)], capture_output=True, text=True, timeout=300, env=env
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_reprs_under_ember_run_print_what_torch_prints(tmp_path):
    script = tmp_path / "user_script.py"
    script.write_text(SCRIPT)
    ours, theirs = _output(script, under_ember=True), _output(script, under_ember=False)
    assert "torch.float64" in theirs  # the script shows dtypes in both modes
    assert ours == theirs


def test_reprs_name_ember_when_imported_as_ember():
    x = ember.zeros(2, 3, dtype=ember.float64)
    assert repr(x.shape) == "ember.Size([2, 3])"
    assert repr(ember.float32) == str(ember.float32) == "ember.float32"
    assert repr(x).endswith("dtype=ember.float64)")
    assert repr(x.device) == "device(type='cpu')"
