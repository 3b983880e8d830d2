"""ember against PyTorch on the same workloads, each library in a process of its own.

    python benchmarks/suite.py [--steps 15] [--rounds 3] [--only mlp,cnn] [--json results.json]

For each workload and round, a fresh process per library imports only that library with its
own defaults (nothing is set for PyTorch that a PyTorch user would not set), builds the
workload, runs 3 warm-up steps and times ``--steps`` steps, or more until the timed steps
take ``MIN_SECONDS`` (a batch-1 step of 60 us is timed over thousands); the rounds alternate which
library goes first. A figure is the median over rounds of each process's median step, with
the range of those medians as its spread. Peak memory is the growth of the process's peak
resident set (VmHWM) over building the workload and running it, the largest over rounds.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from workloads import WORKLOADS  # noqa: E402

LIBRARIES = ("ember", "torch")


def _status_mb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) / 1024
    return float("nan")


MIN_SECONDS = 0.2
"""Steps are timed until they have taken this long, at least ``--steps`` of them."""


def child(lib_name, name, steps, warmup=3):
    """Runs in the fresh process: time one workload in one library, print a JSON line."""
    lib = __import__(lib_name)
    base = _status_mb("VmRSS")
    fn = WORKLOADS[name](lib)
    for _ in range(warmup):
        fn()
    times = []
    while len(times) < steps or sum(times) < MIN_SECONDS:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    print(json.dumps({"times": times, "peak_mb": _status_mb("VmHWM") - base}))


def run_in_process(lib_name, name, steps):
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--child", lib_name, name, str(steps)],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{lib_name} {name} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def time_per_process(name, steps, rounds):
    """{lib: {"medians": [one per round], "peak_mb": max}}, rounds alternating who goes first."""
    result = {lib: {"medians": [], "peak_mb": 0.0} for lib in LIBRARIES}
    for r in range(rounds):
        for lib in LIBRARIES if r % 2 == 0 else LIBRARIES[::-1]:
            got = run_in_process(lib, name, steps)
            result[lib]["medians"].append(statistics.median(got["times"]))
            result[lib]["peak_mb"] = max(result[lib]["peak_mb"], got["peak_mb"])
    return result


def machine():
    import numpy as np

    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{blas.get('name')} {blas.get('version')}"
    except Exception:
        blas = "unknown"
    import torch

    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas,
        "torch": torch.__version__,
    }


def summarise(entry):
    medians = entry["medians"]
    spread = medians
    out = {
        "median_ms": statistics.median(medians) * 1e3,
        "min_ms": min(spread) * 1e3,
        "max_ms": max(spread) * 1e3,
    }
    if "peak_mb" in entry:
        out["peak_mb"] = entry["peak_mb"]
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=15)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--only", default="")
    p.add_argument("--json", default="")
    p.add_argument("--child", nargs=3, metavar=("LIBRARY", "WORKLOAD", "STEPS"), help="internal")
    args = p.parse_args(argv)
    if args.child:
        lib_name, name, steps = args.child
        child(lib_name, name, int(steps))
        return
    names = [n for n in WORKLOADS if not args.only or n in args.only.split(",")]
    rows = []
    mode = "a process per library"
    print(f"# {mode}; median (min-max) ms")
    columns = ("torch ms", 24), ("ember ms", 24), ("ratio", 7), ("torch MB", 9), ("ember MB", 9)
    print(f"{'workload':<22}" + "".join(f"{c:>{w}}" for c, w in columns))
    for name in names:
        times = time_per_process(name, args.steps, args.rounds)
        row = {"workload": name, **{k: summarise(v) for k, v in times.items()}}
        row["ratio"] = row["ember"]["median_ms"] / row["torch"]["median_ms"]
        rows.append(row)
        t, e = row["torch"], row["ember"]

        def cell(d):
            digits = 3 if d["median_ms"] < 1 else 2
            return (
                f"{d['median_ms']:.{digits}f} ({d['min_ms']:.{digits}f}-{d['max_ms']:.{digits}f})"
            )

        print(
            f"{name:<22}{cell(t):>24}{cell(e):>24}{row['ratio']:>7.2f}"
            f"{t.get('peak_mb', float('nan')):>9.1f}{e.get('peak_mb', float('nan')):>9.1f}",
            flush=True,
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(), "mode": mode, "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
