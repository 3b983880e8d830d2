"""DataLoader throughput, ember against PyTorch, with 0 and 2 worker processes.

    python benchmarks/bench_dataloader.py [--batches 60] [--large-batches 30] [--repeats 3]

Case 1: a dataset whose ``__getitem__`` costs about 1 ms of Python and NumPy work on a 28x28
image (calibrated once at start, in NumPy only), batches of 32. Case 2: large batches
(256 x 3x64x64 float32, 12.6 MB) from a cheap ``__getitem__``, where moving the batch between
processes dominates; ember runs once with its shared-memory path and once with plain pickling
through the pipe.

Each run is a fresh process that imports only its own library and keeps that library's
defaults (threads, OpenMP policy): nothing is set for either. Runs alternate ember, torch,
ember, torch, ... for ``--repeats`` rounds; each run times one full epoch of every loader
(worker start-up included). Rows give the median batches/s with the range over the runs, and
the median CPU time per batch spent in the main process and in the workers: on a machine
shared with other work, wall-clock speed-ups understate what the CPU times show.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np


class Busy:
    """28x28 images; each item runs ``rounds`` small NumPy ops (about 1 ms in all)."""

    def __init__(self, n, rounds):
        self.n, self.rounds = n, rounds
        self.images = np.random.default_rng(0).random((64, 28, 28), dtype=np.float32)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        x = self.images[i % 64]
        for _ in range(self.rounds):
            x = np.tanh(x * 1.01 + 0.1)
            x = x - x.mean()
        return x, i % 10


class Large:
    """3x64x64 float32 images that cost nothing to make: the transfer is what is measured."""

    def __init__(self, n):
        self.n = n
        self.images = np.random.default_rng(0).random((16, 3, 64, 64), dtype=np.float32)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.images[i % 16], i


def calibrate(target_ms=1.0):
    """Rounds for ``target_ms`` of CPU time per item (CPU, not wall time: the machine is shared)."""
    rounds = 8
    while True:
        ds = Busy(200, rounds)
        t0 = time.process_time()
        for i in range(200):
            ds[i]
        ms = (time.process_time() - t0) / 200 * 1e3
        if abs(ms - target_ms) < 0.1 * target_ms or rounds > 10_000:
            return rounds, ms
        rounds = max(1, round(rounds * target_ms / ms))


def rate(lib, ds, batch_size, workers, touch=False):
    """(batches/s, main-process CPU ms per batch, worker CPU ms per batch) of one epoch.

    CPU times come from ``os.times()``; workers count once they have exited and been joined,
    which both libraries do at the end of an epoch.
    """
    loader = lib.DataLoader(ds, batch_size=batch_size, num_workers=workers)
    c0, t0 = os.times(), time.perf_counter()
    n = 0
    for x, _ in loader:
        if touch:  # read every byte, as a training step would
            float(x.sum())
        n += 1
    wall, c1 = time.perf_counter() - t0, os.times()
    main_ms = (c1.user + c1.system - c0.user - c0.system) / n * 1e3
    kids = max(0.0, c1.children_user + c1.children_system - c0.children_user - c0.children_system)
    return n / wall, main_ms, kids / n * 1e3


def worker(args):
    if args.worker == "torch":
        import torch.utils.data as lib
    else:
        import ember.utils.data as lib
    busy = Busy(32 * args.batches, args.rounds)
    large = Large(256 * args.large_batches)
    out = {f"busy{w}": rate(lib, busy, 32, w) for w in (0, 2)}
    out["large0"] = rate(lib, large, 256, 0, True)
    out["large2"] = rate(lib, large, 256, 2, True)
    if args.worker == "ember":
        from ember.utils.data import _shared_memory

        _shared_memory.THRESHOLD = 2**62  # workers are forked: they inherit this
        out["large2pickle"] = rate(lib, large, 256, 2, True)
    print(json.dumps(out))


def run_worker(lib, args, rounds):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", lib, "--rounds", str(rounds),
           "--batches", str(args.batches), "--large-batches", str(args.large_batches)]  # fmt: skip
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def summary(runs, key):
    """Medians of (b/s, main CPU, worker CPU) over the runs, and the b/s range."""
    rows = [r[key] for r in runs]
    med = [statistics.median(c) for c in zip(*rows)]
    return med, min(r[0] for r in rows), max(r[0] for r in rows)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batches", type=int, default=60)
    p.add_argument("--large-batches", type=int, default=30)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--worker", choices=("ember", "torch"), help=argparse.SUPPRESS)
    p.add_argument("--rounds", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args)

    rounds, ms = calibrate()
    runs = {"ember": [], "torch": []}
    for _ in range(args.repeats):
        for lib in ("ember", "torch"):
            runs[lib].append(run_worker(lib, args, rounds))

    print(f"{args.repeats} runs per library, alternating, one process per run; "
          "b/s: median (min-max)")  # fmt: skip
    print(f"case 1: __getitem__ {ms:.2f} ms ({rounds} rounds), batch 32, {args.batches} batches")
    print("CPU columns: median ms of CPU per batch in the main process / in the workers")
    head = f"{'workers':<9}{'torch b/s':>18}{'ember b/s':>18}{'ember/torch':>12}"
    print(f"{head}{'torch CPU':>14}{'ember CPU':>14}")
    rows = {}
    for w in (0, 2):
        t, e = summary(runs["torch"], f"busy{w}"), summary(runs["ember"], f"busy{w}")
        rows[w] = (t[0], e[0])
        tr, er = f"{t[0][0]:.1f} ({t[1]:.1f}-{t[2]:.1f})", f"{e[0][0]:.1f} ({e[1]:.1f}-{e[2]:.1f})"
        print(
            f"{w:<9}{tr:>18}{er:>18}{e[0][0] / t[0][0]:>12.2f}"
            f"{t[0][1]:>8.1f}/{t[0][2]:<5.1f}{e[0][1]:>8.1f}/{e[0][2]:<5.1f}"
        )
    (t0, e0), (t2, e2) = rows[0], rows[2]
    print(f"speed-up of 2 workers over 0: torch {t2[0] / t0[0]:.2f}x, ember {e2[0] / e0[0]:.2f}x")
    # With two otherwise idle cores, the main process and the workers share 2 CPU-seconds per
    # second: the speed-up the CPU times allow is 2 * (CPU per batch in one process) / (CPU per
    # batch in main + workers).
    print(
        "CPU-bound speed-up on 2 idle cores: "
        f"torch {2 * t0[1] / (t2[1] + t2[2]):.2f}x, ember {2 * e0[1] / (e2[1] + e2[2]):.2f}x"
    )

    mb = 256 * 3 * 64 * 64 * 4 / 2**20
    print(f"\ncase 2: batch 256 x 3x64x64 float32 ({mb:.1f} MB), {args.large_batches} batches")
    print(f"{'loader':<27}{'b/s (min-max)':>20}{'MB/s':>7}{'main CPU':>10}{'worker CPU':>12}")
    for label, lib, key in (
        ("torch, 0 workers", "torch", "large0"),
        ("ember, 0 workers", "ember", "large0"),
        ("torch, 2 workers", "torch", "large2"),
        ("ember, 2 workers, shm", "ember", "large2"),
        ("ember, 2 workers, pickle", "ember", "large2pickle"),
    ):
        (r, main_ms, kids_ms), lo, hi = summary(runs[lib], key)
        rs = f"{r:.1f} ({lo:.1f}-{hi:.1f})"
        print(f"{label:<27}{rs:>20}{r * mb:>7.0f}{main_ms:>10.1f}{kids_ms:>12.1f}")


if __name__ == "__main__":
    main()
