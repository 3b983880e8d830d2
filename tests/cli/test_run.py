"""``ember run``: unmodified torch scripts run on ember; missing names fail clearly."""

import importlib.metadata
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from packaging.version import Version

import ember

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = {**os.environ, "PYTHONPATH": REPO}


def run_script(tmp_path, source, *args):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    return subprocess.run(
        [sys.executable, "-m", "ember", "run", str(script), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
        cwd=tmp_path,
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


def test_alias_modules_have_a_real_dict(tmp_path):
    # pytorch/examples' imagenet builds its -a/--arch choices this way.
    r = run_script(
        tmp_path,
        """
        import argparse
        import ember, torch, torchvision.models as models
        import torch.nn as nn
        model_names = sorted(name for name in models.__dict__
            if name.islower() and not name.startswith("__")
            and callable(models.__dict__[name]))
        parser = argparse.ArgumentParser()
        parser.add_argument("-a", "--arch", choices=model_names)
        print(parser.parse_args().arch, ",".join(model_names))
        assert nn.Linear is ember.nn.Linear and torch.nn.__dict__["Linear"] is ember.nn.Linear
        assert torch.__dict__["nn"] is nn and torch.nn.functional.relu is ember.nn.functional.relu
        assert vars(torch)["cat"] is ember.cat and "Module" in dir(nn)
        torch.backends.cudnn.benchmark = True
        assert ember.backends.cudnn.benchmark is True
        """,
        "-a",
        "resnet18",
    )
    assert r.returncode == 0, r.stderr
    arch, listed = r.stdout.split()
    from ember.vision import models

    expected = sorted(
        n
        for n, v in vars(models).items()
        if n.islower() and not n.startswith("_") and callable(v) and not isinstance(v, type)
    )
    assert arch == "resnet18" and listed.split(",") == expected


MISSING = [
    ("from torch.nn.init import _no_such_helper", "torch.nn.init._no_such_helper"),
    ("torch.hub.no_such_constant", "torch.hub.no_such_constant"),
    ("torch.cuda.no_such_function()", "torch.cuda.no_such_function"),
    ("import torch.utils.data.no_such_module", "torch.utils.data.no_such_module"),
    ("from torch.utils.data.dataloader import no_such_name", "torch.utils.data.dataloader.no_"),
    ("from torch.nn import no_such_layer", "torch.nn.no_such_layer"),
]


@pytest.mark.parametrize("statement, name", MISSING)
def test_missing_names_give_embers_error(tmp_path, statement, name):
    r = run_script(tmp_path, "import torch\n" + statement + "\n")
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert "NotImplemented" in last and f"ember does not implement {name}" in last, r.stderr
    assert "script.py, line 2" in last
    assert "__path__" not in r.stderr


def test_missing_imports_are_import_errors_for_library_fallbacks(tmp_path):
    r = run_script(
        tmp_path,
        """
        import torch
        found = []
        for statement in ("from torch.nn.init import _no_such_helper",
                          "import torch.no_such_module", "from torch import no_such_name"):
            try:
                exec(statement)
            except ImportError as e:
                found.append(type(e).__name__)
        assert not hasattr(torch.cuda, "no_such_name")
        from torch.utils.data.dataloader import default_collate
        import torch.utils.data.dataloader
        print(" ".join(found))
        """,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [
        "NotImplementedImport",
        "NotImplementedModule",
        "NotImplementedImport",
    ]


def test_child_processes_import_ember_as_torch(tmp_path):
    # torch is installed here, so a child that missed the alias would import the real one.
    r = run_script(
        tmp_path,
        """
        import multiprocessing, subprocess, sys
        import torch

        def report(queue):
            import torch, torchvision
            queue.put(f"{torch.nn.Linear.__module__},{torchvision.models.resnet18.__module__}")

        if __name__ == "__main__":
            for method in ("spawn", "forkserver"):
                ctx = multiprocessing.get_context(method)
                queue = ctx.Queue()
                p = ctx.Process(target=report, args=(queue,))
                p.start()
                print(method, queue.get(timeout=60))
                p.join()
            code = "import torch; print('subprocess', torch.ones(1).__class__.__module__)"
            print(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True).stdout.strip())
        """,
    )
    assert r.returncode == 0, r.stderr
    linear, resnet = ember.nn.Linear.__module__, ember.vision.models.resnet18.__module__
    assert r.stdout.splitlines() == [
        f"spawn {linear},{resnet}",
        f"forkserver {linear},{resnet}",
        f"subprocess {type(ember.ones(1)).__module__}",
    ]


def test_version_is_the_pytorch_release_ember_follows():
    own = Version(ember.__version__)
    assert own.release == Version(torch.__version__).release  # the oracle is that release
    assert own >= Version("2.6")
    assert own.local == f"ember.{importlib.metadata.version('ember')}"


def test_torch_version_under_ember_run(tmp_path):
    r = run_script(tmp_path, "import torch, ember\nprint(torch.__version__ == ember.__version__)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "True"


def test_bad_script_gives_one_line(tmp_path):
    binary = tmp_path / "binary.py"
    binary.write_bytes(b"\x7fELF\x00\x01")
    broken = tmp_path / "broken.py"
    broken.write_text("def (\n")
    for path, message in (
        (tmp_path / "none.py", "no such script"),
        (binary, "is not valid Python"),
        (broken, "is not valid Python"),
        (tmp_path, "no such script"),
    ):
        r = subprocess.run([sys.executable, "-m", "ember", "run", str(path)], env=ENV,
                           capture_output=True, text=True, timeout=120)  # fmt: skip
        assert r.returncode == 2, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and message in r.stderr, r.stderr
    r = subprocess.run([sys.executable, "-m", "ember", "run"], env=ENV, capture_output=True,
                       text=True, timeout=120)  # fmt: skip
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_options_after_the_script_belong_to_the_script(tmp_path):
    r = run_script(tmp_path, "import sys\nprint(sys.argv[1:])", "--help", "-x")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "['--help', '-x']"
