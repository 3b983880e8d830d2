"""``ember bench``: the benchmark suite against PyTorch, from a source checkout.

The benchmarks compare ember with PyTorch in the same run, so they need PyTorch (a test-only
dependency) and the `benchmarks/` folder of ember's repository, which is not installed with
the package.
"""

import importlib.util
import os
import subprocess
import sys

import ember

MICRO = (
    "bench_core",
    "bench_overhead",
    "bench_nn",
    "bench_optim",
    "bench_dataloader",
    "bench_serialization",
)


def add_parser(sub):
    p = sub.add_parser("bench", help="time ember against PyTorch (needs a source checkout)")
    p.add_argument("--steps", type=int, default=15, help="timed steps per process")
    p.add_argument("--rounds", type=int, default=3, help="fresh processes per library")
    p.add_argument("--only", default="", help="comma-separated workloads, e.g. mlp,resnet18")
    p.add_argument("--json", default="", help="also write the results to this JSON file")
    p.add_argument("--micro", action="store_true", help="then run the micro-benchmarks too")
    p.set_defaults(run=run)


def benchmarks_folder():
    return os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(ember.__file__))), "benchmarks"
    )


def run(args):
    folder = benchmarks_folder()
    suite = os.path.join(folder, "suite.py")
    if not os.path.exists(suite):
        print(
            f"ember bench: no benchmarks at {folder}; it runs from a source checkout of ember",
            file=sys.stderr,
        )
        return 2
    if importlib.util.find_spec("torch") is None:
        print(
            "ember bench: PyTorch is needed to compare against: pip install 'ember[test]'",
            file=sys.stderr,
        )
        return 2
    cmd = [sys.executable, suite, "--steps", str(args.steps), "--rounds", str(args.rounds)]
    if args.only:
        cmd += ["--only", args.only]
    if args.json:
        cmd += ["--json", args.json]
    status = subprocess.call(cmd)
    if args.micro:
        for name in MICRO:
            print(f"\n== {name}")
            status = subprocess.call([sys.executable, os.path.join(folder, name + ".py")]) or status
    return status
