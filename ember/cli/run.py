"""``ember run SCRIPT.py [ARGS...]``: run an unmodified PyTorch script on ember."""

import argparse
import os
import runpy
import sys


def add_parser(sub):
    p = sub.add_parser("run", help="run a PyTorch script with torch resolved to ember")
    p.add_argument("script", help="path of the Python script")
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the script")
    p.set_defaults(run=run)


def run(args):
    from ember import _torch_alias

    if not os.path.isfile(args.script):
        print(f"ember run: no such script: {args.script}", file=sys.stderr)
        return 2
    _torch_alias.install()
    sys.argv = [args.script, *args.args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(args.script)))
    runpy.run_path(args.script, run_name="__main__")
    return 0


def main_from_argv(argv=None):
    """Run ``SCRIPT [ARGS...]`` from ``argv`` (``sys.argv[1:]`` by default)."""
    argv = sys.argv[1:] if argv is None else argv
    return run(argparse.Namespace(script=argv[0], args=argv[1:]))
