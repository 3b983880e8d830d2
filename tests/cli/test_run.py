"""``ember run``: unmodified torch scripts run on ember; missing names fail clearly."""

import subprocess
import sys
import textwrap


def run_script(tmp_path, source, *args):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    code = "import sys; from ember.cli.run import main_from_argv; sys.exit(main_from_argv())"
    return subprocess.run(
        [sys.executable, "-c", code, str(script), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_torch_imports_resolve_to_ember(tmp_path):
    r = run_script(
        tmp_path,
        """
        import sys
        import torch
        import torch.nn.functional as F
        from torch.autograd import grad
        x = torch.ones(3, requires_grad=True)
        (g,) = grad((x * x).sum(), x)
        print(sys.argv[1:], __name__, type(x).__module__, g.tolist())
        """,
        "--lr",
        "3",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [
        "['--lr',",
        "'3']",
        "__main__",
        "ember._tensor",
        "[2.0,",
        "2.0,",
        "2.0]",
    ]


def test_missing_name_fails_at_point_of_use(tmp_path):
    r = run_script(
        tmp_path,
        """
        import torch
        x = torch.ones(3)
        y = torch.this_does_not_exist(x)
        """,
    )
    assert r.returncode != 0
    assert "NotImplementedError" in r.stderr or "NotImplementedAttribute" in r.stderr
    assert "ember does not implement torch.this_does_not_exist yet" in r.stderr
    assert "script.py, line 4" in r.stderr
