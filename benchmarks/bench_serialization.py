"""Saving and loading a state_dict of 100 million float32 values (400 MB), ember against PyTorch.

    python benchmarks/bench_serialization.py [--values 100000000] [--tensors 50] [--reps 3]

Each measurement runs in a fresh process: the best of ``--reps`` runs in MB/s, and the peak
resident memory the operation added (VmHWM) over what the process held before it: for a save,
on top of the state_dict itself; for a load, including the loaded state_dict (400 MB is the
floor). ember's save also fsyncs and renames (atomic write); torch.save does neither. Files go
to a temporary folder, so loads read from the page cache in both libraries.
"""

import argparse
import os
import subprocess
import sys
import tempfile

CHILD = """
import gc, sys, time
import numpy as np
lib_name, op, path, values, tensors, reps = sys.argv[1:7]
values, tensors, reps = int(values), int(tensors), int(reps)
if lib_name == "torch":
    import torch as lib
else:
    import ember as lib

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024

def state_dict():
    rng = np.random.default_rng(0)
    n = values // tensors
    return {f"layer{i}.weight": lib.from_numpy(rng.standard_normal(n, dtype=np.float32))
            for i in range(tensors)}

if op == "save":
    sd = state_dict()
    base = status("VmHWM")
    times = []
    for _ in range(reps):
        t0 = time.perf_counter(); lib.save(sd, path); times.append(time.perf_counter() - t0)
else:
    if lib_name == "torch":
        load = lambda: lib.load(path, weights_only=True)
    else:
        load = lambda: lib.load(path)
    gc.collect()
    base = status("VmRSS")
    times = []
    for _ in range(reps):
        t0 = time.perf_counter(); sd = load(); times.append(time.perf_counter() - t0)
        assert len(sd) == tensors
        del sd; gc.collect()
print(min(times), status("VmHWM") - base)
"""


def measure(lib, op, path, args):
    argv = [lib, op, path, str(args.values), str(args.tensors), str(args.reps)]
    out = subprocess.run(
        [sys.executable, "-c", CHILD, *argv], capture_output=True, text=True, check=True
    )
    seconds, peak = out.stdout.split()
    return float(seconds), float(peak)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=100_000_000)
    parser.add_argument("--tensors", type=int, default=50)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    mb = args.values * 4 / 2**20
    print(f"{args.values:,} float32 values in {args.tensors} tensors ({mb:.0f} MB)")
    heads = ("ember MB/s", "torch MB/s", "ratio", "ember peak", "torch peak")
    print(f"{'':14}" + "".join(f"{h:>12}" for h in heads))
    with tempfile.TemporaryDirectory() as folder:
        for op in ("save", "load"):
            rows = {}
            for lib in ("ember", "torch"):
                path = os.path.join(folder, f"{lib}.ckpt")
                rows[lib] = measure(lib, op, path, args)
            (et, ep), (tt, tp) = rows["ember"], rows["torch"]
            print(f"{op:14}{mb / et:12.0f}{mb / tt:12.0f}{tt / et:8.2f}{ep:10.0f}MB{tp:10.0f}MB")


if __name__ == "__main__":
    main()
