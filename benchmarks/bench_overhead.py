"""Per-call cost of the small ops that data loading and model code call many times a step.

    python benchmarks/bench_overhead.py [--rounds 3] [--only "arange(16);x[mask]"] [--markdown PATH]

Creation (`torch.tensor` of a list, zeros, arange, randint, ...), indexing and assignment,
shape ops (stack of a batch of samples, cat, view, transpose), conversions (`item`, `tolist`)
and small reductions, on tensors of a few to a few hundred elements: what a `Dataset`'s
``__getitem__``, `default_collate` and a model's forward (position indices, masks) spend
their time in, where the arithmetic costs nothing. Each library runs in a fresh process of
its own with its own defaults; a process times each case as the median of 15 samples of
many calls; rounds alternate the order; a figure is the median over rounds with the range.
Ratio = ember / PyTorch.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

LIBRARIES = ("torch", "ember")


def _cases(lib):
    """{name: a function of no arguments running the case once}."""
    rng = np.random.default_rng(0)
    long = lib.long
    v16 = lib.zeros(16, dtype=long)
    v5 = lib.tensor([1, 2, 3, 4, 5])
    m = lib.tensor(rng.standard_normal((8, 16)).astype(np.float32))
    samples = [lib.tensor(rng.integers(0, 27, 16)) for _ in range(32)]
    images = [lib.tensor(rng.standard_normal((1, 28, 28)).astype(np.float32)) for _ in range(32)]
    idx = lib.tensor([0, 3, 5])
    mask = m > 0
    scalar = lib.tensor(1.5)
    array = rng.standard_normal(16).astype(np.float32)
    causal = lib.ones(16, 16)
    pairs = [(s, s) for s in samples]
    collate = lib.utils.data.default_collate

    def set_slice():
        v16[1:6] = v5

    def set_scalar():
        v16[6:] = -1

    return {
        "tensor(list of 5 ints)": lambda: lib.tensor([1, 2, 3, 4, 5], dtype=long),
        "tensor(float)": lambda: lib.tensor(0.5),
        "from_numpy(16)": lambda: lib.from_numpy(array),
        "zeros(16, long)": lambda: lib.zeros(16, dtype=long),
        "zeros(8, 16)": lambda: lib.zeros(8, 16),
        "ones(16, 16)": lambda: lib.ones(16, 16),
        "empty(8, 16)": lambda: lib.empty(8, 16),
        "full((8, 16), 2.0)": lambda: lib.full((8, 16), 2.0),
        "zeros_like(8x16)": lambda: lib.zeros_like(m),
        "arange(16)": lambda: lib.arange(16),
        "arange(0, 16, long)": lambda: lib.arange(0, 16, dtype=long),
        "randn(8, 16)": lambda: lib.randn(8, 16),
        "rand(8, 16)": lambda: lib.rand(8, 16),
        "randint(0, 10, (1,))": lambda: lib.randint(0, 10, (1,)),
        "randperm(32)": lambda: lib.randperm(32),
        "tril(ones(16, 16))": lambda: lib.tril(causal),
        "x[0]": lambda: m[0],
        "x[1:3]": lambda: m[1:3],
        "x[:, 0]": lambda: m[:, 0],
        "x[index tensor]": lambda: m[idx],
        "x[mask]": lambda: m[mask],
        "v[1:6] = tensor": set_slice,
        "v[6:] = -1": set_scalar,
        "masked_fill": lambda: m.masked_fill(mask, 0.0),
        "stack 32 x (16,)": lambda: lib.stack(samples),
        "stack 32 x (1, 28, 28)": lambda: lib.stack(images),
        "default_collate 32 x (x, y)": lambda: collate(pairs),
        "cat 2 x (8, 16)": lambda: lib.cat([m, m]),
        "view(16, 8)": lambda: m.view(16, 8),
        "reshape(-1)": lambda: m.reshape(-1),
        "transpose(0, 1)": lambda: m.transpose(0, 1),
        "unsqueeze(0)": lambda: m.unsqueeze(0),
        "split(4)": lambda: m.split(4),
        "to(float64)": lambda: m.to(lib.float64),
        "long()": lambda: m.long(),
        "item()": lambda: scalar.item(),
        "tolist() (8x16)": lambda: m.tolist(),
        "numpy()": lambda: m.numpy(),
        "clone()": lambda: m.clone(),
        "sum()": lambda: m.sum(),
        "argmax(1)": lambda: m.argmax(1),
        "x + y (8x16)": lambda: m + m,
        "x == y (8x16)": lambda: m == m,
        "size(0)": lambda: m.size(0),
    }


def _median_seconds(fn, samples=15, budget=0.01):
    for _ in range(20):
        fn()
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < budget:
        fn()
        calls += 1
    inner = max(calls, 1)
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return statistics.median(times)


def child(lib_name, only):
    lib = __import__(lib_name)
    out = {}
    for name, fn in _cases(lib).items():
        if only and name not in only:
            continue
        out[name] = _median_seconds(fn)
    print(json.dumps(out))


def _in_process(lib_name, only):
    argv = [sys.executable, os.path.abspath(__file__), "--child", lib_name]
    if only:
        argv += ["--only", ";".join(only)]
    out = subprocess.run(argv, capture_output=True, text=True, cwd="/")
    if out.returncode != 0:
        raise RuntimeError(f"{lib_name} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(rounds, only):
    """{case: {library: [seconds per round]}}, rounds alternating the order."""
    got = {}
    for r in range(rounds):
        for lib_name in LIBRARIES if r % 2 == 0 else LIBRARIES[::-1]:
            for case, seconds in _in_process(lib_name, only).items():
                got.setdefault(case, {}).setdefault(lib_name, []).append(seconds)
    return got


def _cell(seconds):
    mid = statistics.median(seconds) * 1e6
    return f"{mid:.2f} ({min(seconds) * 1e6:.2f}-{max(seconds) * 1e6:.2f})"


def table(got):
    lines = ["| op | PyTorch us | ember us | ratio |", "|---|---|---|---|"]
    for case, per_lib in got.items():
        ratio = statistics.median(per_lib["ember"]) / statistics.median(per_lib["torch"])
        lines.append(f"| {case} | {_cell(per_lib['torch'])} | {_cell(per_lib['ember'])} | "
                     f"{ratio:.2f} |")  # fmt: skip
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3, help="processes per library (alternating)")
    p.add_argument("--only", help="case names separated by ';'")
    p.add_argument("--markdown", metavar="PATH", help="also write the table to PATH")
    p.add_argument("--child", choices=LIBRARIES, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    only = set(args.only.split(";")) if args.only else None
    if args.child:
        child(args.child, only)
        return
    text = table(run(args.rounds, only))
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
