"""``ember run SCRIPT.py [ARGS...]``: run an unmodified PyTorch script on ember.

Options of ``ember run`` itself go before the script's path; everything after it is the
script's own command line, passed on untouched (``ember run train.py --help`` is the script's
help).
"""

import argparse
import os
import runpy
import sys

from ember.cli import launch


def add_parser(sub):
    p = sub.add_parser(
        "run",
        help="run a PyTorch script with torch resolved to ember",
        description="Run a PyTorch script unmodified: `import torch` and `import torchvision` "
        "resolve to ember, also in the processes the script starts.",
    )
    launch.add_arguments(p)
    p.add_argument("script", help="path of the Python script")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the script")
    p.set_defaults(run=run)


def check_script(path):
    """None when ``path`` is a Python script that compiles, else the one-line reason."""
    if not os.path.isfile(path):
        return f"no such script: {path}"
    try:
        with open(path, "rb") as f:
            compile(f.read(), path, "exec")
    except OSError as e:
        return f"cannot read {path}: {e.strerror}"
    except (SyntaxError, ValueError) as e:  # ValueError: null bytes, on Python before 3.12
        return f"{path} is not valid Python: {e}"
    return None


def run(args):
    from ember import _torch_alias

    problem = check_script(args.script)
    if problem is not None:
        print(f"ember run: error: {problem}", file=sys.stderr)
        return 2
    if getattr(args, "nproc_per_node", None) is not None:
        return launch.launch(args)
    _torch_alias.install()
    _torch_alias.install_for_child_processes()
    sys.argv = [args.script, *args.args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(args.script)))
    runpy.run_path(args.script, run_name="__main__")
    return 0
