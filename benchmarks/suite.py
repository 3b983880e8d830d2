"""ember against PyTorch on the same workloads, interleaved, in one run.

    python benchmarks/suite.py [--steps 20] [--only mlp,cnn] [--json results.json]

Each workload is built in both libraries; after warm-up, steps alternate between them and
each step is timed. Peak memory is measured in a fresh process per (workload, library) as the
growth of the maximum resident set size over the steps.
"""

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time

# Both libraries' OpenMP threads sleep between parallel regions (see bench_nn.py): PyTorch
# loads libgomp first, and ember's oneDNN then shares it with whatever policy it started with.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from workloads import WORKLOADS  # noqa: E402


def _libs():
    import torch

    import ember

    return {"torch": torch, "ember": ember}


def time_workload(name, steps, warmup=3):
    libs = _libs()
    fns = {k: WORKLOADS[name](lib) for k, lib in libs.items()}
    # Both libraries live in one process; keep the garbage collector from re-scanning the
    # other library's millions of long-lived objects on every collection.
    gc.collect()
    gc.freeze()
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {k: [] for k in fns}
    for _ in range(steps):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return times


def peak_memory_mb(name, lib, steps=5):
    """Peak resident memory of building the workload and running it, above the memory the
    process holds after importing the library (MB), in a fresh process. VmHWM is used, not
    ru_maxrss, which a child inherits from its parent across exec."""
    code = (
        "import os, sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        f"import {lib} as lib\n"
        "from workloads import WORKLOADS\n"
        "def status(key):\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith(key):\n"
        "            return int(line.split()[1]) / 1024\n"
        "base = status('VmRSS')\n"
        f"fn = WORKLOADS[{name!r}](lib)\n"
        f"for _ in range({steps}): fn()\n"
        "print(status('VmHWM') - base)\n"
    )
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run(
        [sys.executable, "-c", code, here], capture_output=True, text=True, check=True
    )
    return float(out.stdout.split()[0])


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


def summarise(times):
    med = statistics.median(times)
    q = statistics.quantiles(times, n=4) if len(times) >= 4 else [min(times), med, max(times)]
    return {"median_ms": med * 1e3, "iqr_ms": (q[2] - q[0]) * 1e3}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--only", default="")
    p.add_argument("--json", default="")
    p.add_argument("--no-memory", action="store_true")
    args = p.parse_args(argv)
    names = [n for n in WORKLOADS if not args.only or n in args.only.split(",")]
    rows = []
    print(
        f"{'workload':<22}{'torch ms':>10}{'ember ms':>10}{'ratio':>8}"
        f"{'torch MB':>10}{'ember MB':>10}"
    )
    for name in names:
        times = time_workload(name, args.steps)
        row = {"workload": name, **{k: summarise(v) for k, v in times.items()}}
        row["ratio"] = row["ember"]["median_ms"] / row["torch"]["median_ms"]
        if not args.no_memory:
            row["torch"]["peak_mb"] = peak_memory_mb(name, "torch")
            row["ember"]["peak_mb"] = peak_memory_mb(name, "ember")
        rows.append(row)
        t, e = row["torch"], row["ember"]
        print(
            f"{name:<22}{t['median_ms']:>10.2f}{e['median_ms']:>10.2f}{row['ratio']:>8.2f}"
            f"{t.get('peak_mb', float('nan')):>10.1f}{e.get('peak_mb', float('nan')):>10.1f}",
            flush=True,
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(), "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
