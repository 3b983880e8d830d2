"""Core op speed, ember against PyTorch (and raw NumPy) in the same run.

    python benchmarks/bench_core.py [--repeats 21] [--json results.json] [--quick]

Measured: the cost of one small op recorded by autograd (x * y on 10 elements that require
grad), forward and backward of a chain of 100 small ops, float32 matmul at 1024^2 and 2048^2
(GFLOP/s), and elementwise add, mul and exp on 1M and 16M float32 elements. Every case runs
the libraries interleaved (one sample of each in turn, after warm-up) and reports the median
of ``--repeats`` samples. Ratios are ember's time over the other library's time: above 1 is
slower than the other.
"""

import argparse
import gc
import json
import statistics
import time

import numpy as np
import torch

import ember


def _timer(fn, inner):
    def sample():
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        return (time.perf_counter() - t0) / inner

    return sample


def interleaved(fns, repeats, inner=1, warmup=2):
    """Median seconds per call of each function, sampled in turn so that load on a shared
    machine falls on all of them alike."""
    samplers = {k: _timer(f, inner) for k, f in fns.items()}
    for s in samplers.values():
        for _ in range(warmup):
            s()
    times = {k: [] for k in fns}
    gc.collect()
    for _ in range(repeats):
        for k, s in samplers.items():
            times[k].append(s())
    return {k: statistics.median(v) for k, v in times.items()}


def small_op(repeats):
    """x * y on 10-element tensors that require grad: the per-op cost of recording."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(10, dtype=np.float32), rng.standard_normal(10, dtype=np.float32)
    fns = {}
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=True)
        y = lib.tensor(b, requires_grad=True)
        fns[lib.__name__] = lambda x=x, y=y: x * y
    fns["numpy"] = lambda: np.multiply(a, b)
    return interleaved(fns, repeats, inner=2000)


def _chain(lib, a):
    x = lib.tensor(a, requires_grad=True)

    def run():
        y = x
        for _ in range(25):
            y = ((y * 0.9) + 0.1).tanh() - 0.05
        y.sum().backward()
        x.grad = None

    return run


def chain(repeats):
    """Forward and backward of 100 small ops (mul, add, tanh, sub) on 10 elements."""
    a = np.random.default_rng(1).standard_normal(10, dtype=np.float32)
    return interleaved({lib.__name__: _chain(lib, a) for lib in (ember, torch)}, repeats, inner=20)


def matmul(n, repeats):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    ea, eb = ember.tensor(a), ember.tensor(b)
    ta, tb = torch.tensor(a), torch.tensor(b)
    fns = {"ember": lambda: ea @ eb, "torch": lambda: ta @ tb, "numpy": lambda: a @ b}
    return interleaved(fns, repeats, inner=1, warmup=1)


ELEMENTWISE = {
    "add": (lambda x, y: x + y, np.add),
    "mul": (lambda x, y: x * y, np.multiply),
    "exp": (lambda x, y: x.exp(), lambda x, y: np.exp(x)),
}


def elementwise(name, n, repeats):
    rng = np.random.default_rng(3)
    a = rng.standard_normal(n, dtype=np.float32)
    b = rng.standard_normal(n, dtype=np.float32)
    op, np_op = ELEMENTWISE[name]
    ea, eb = ember.tensor(a), ember.tensor(b)
    ta, tb = torch.tensor(a), torch.tensor(b)
    fns = {
        "ember": lambda: op(ea, eb),
        "torch": lambda: op(ta, tb),
        "numpy": lambda: np_op(a, b),
    }
    return interleaved(fns, repeats, inner=max(1, 2_000_000 // n), warmup=2)


def run(repeats, quick):
    """Rows of (case, unit, {library: value in that unit}, {library: seconds})."""
    rows = []
    t = small_op(repeats)
    rows.append(("x*y, 10 elems, autograd", "us", {k: v * 1e6 for k, v in t.items()}, t))
    t = chain(repeats)
    rows.append(("100-op chain fwd+bwd", "ms", {k: v * 1e3 for k, v in t.items()}, t))
    for n in (1024,) if quick else (1024, 2048):
        t = matmul(n, repeats)
        gflops = {k: 2 * n**3 / v / 1e9 for k, v in t.items()}
        rows.append((f"matmul {n}^2 float32", "GFLOP/s", gflops, t))
    for n, label in ((1 << 20, "1M"),) if quick else ((1 << 20, "1M"), (1 << 24, "16M")):
        for name in ELEMENTWISE:
            t = elementwise(name, n, repeats)
            rows.append((f"{name} {label} float32", "ms", {k: v * 1e3 for k, v in t.items()}, t))
    return rows


def table(rows):
    head = (f"{'case':<26}{'unit':>8}{'ember':>10}{'torch':>10}{'numpy':>10}"
            f"{'ember/torch':>13}{'ember/numpy':>13}")  # fmt: skip
    lines = [head, "-" * len(head)]
    for case, unit, values, secs in rows:
        cells = [f"{values[k]:>10.2f}" if k in values else f"{'-':>10}" for k in
                 ("ember", "torch", "numpy")]  # fmt: skip
        ratios = [f"{secs['ember'] / secs[k]:>13.2f}" if k in secs else f"{'-':>13}" for k in
                  ("torch", "numpy")]  # fmt: skip
        lines.append(f"{case:<26}{unit:>8}" + "".join(cells) + "".join(ratios))
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=21, help="samples per case (median taken)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--quick", action="store_true", help="only the 1024 matmul and 1M elements")
    p.add_argument("--torch-threads", type=int, help="torch.set_num_threads before timing")
    args = p.parse_args(argv)
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    print(f"ember {ember.__version__}, torch {torch.__version__} ({torch.get_num_threads()} "
          f"threads), numpy {np.__version__}; median of {args.repeats}, interleaved")  # fmt: skip
    rows = run(args.repeats, args.quick)
    print(table(rows))
    print("ratios are times (ember / other): above 1 means ember is slower")
    if args.json:
        out = [{"case": c, "unit": u, "values": v, "seconds": s} for c, u, v, s in rows]
        with open(args.json, "w") as f:
            json.dump({"repeats": args.repeats, "results": out}, f, indent=1)


if __name__ == "__main__":
    main()
