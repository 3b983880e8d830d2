"""Op-by-op audit: ember against PyTorch on float32 ops of 1M and 16M elements.

    python benchmarks/bench_op_audit.py [--rounds 3] [--reps 7] [--sizes 1M,16M]
                                        [--only exp,sum] [--markdown table.md]

Every op runs on a (rows, 1024) float32 tensor, forward only at each size and forward plus
backward (the gradient of ``out.backward(ones)``) at 1M for the differentiable ones. Each
library runs in a fresh process of its own with its own defaults (nothing is set for
PyTorch), from the same PyTorch-API code; a process times every op ``--reps`` times after
warm-up calls and reports each op's median (``--statistic min``: the fastest run, for a
machine others are using). Rounds alternate which library goes first. A figure is the
median over rounds of the process figures, with their range; the ratio is
ember / PyTorch, and ops above 1.2x are listed at the end. The machine may be shared while
this runs: rerun the slow ones (``--only``) to confirm them.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

LIBRARIES = ("ember", "torch")
SIZES = {"1M": 1 << 20, "16M": 1 << 24}
SLOW = 1.2


def _unary(method):
    return lambda lib, x, y: getattr(x, method)()


# name: (forward(lib, x, y) where x, y are float32 (rows, 1024) tensors, differentiable)
OPS = {
    **{
        name: (_unary(name), name not in ("floor",))
        for name in (
            "neg",
            "abs",
            "exp",
            "log",
            "sqrt",
            "rsqrt",
            "sin",
            "cos",
            "tanh",
            "sigmoid",
            "erf",
            "floor",
            "reciprocal",
            "square",
        )
    },  # fmt: skip
    "add": (lambda lib, x, y: x + y, True),
    "sub": (lambda lib, x, y: x - y, True),
    "mul": (lambda lib, x, y: x * y, True),
    "div": (lambda lib, x, y: x / y, True),
    "pow(x,2)": (lambda lib, x, y: x**2, True),
    "pow(x,3)": (lambda lib, x, y: x**3, True),
    "pow(x,2.5)": (lambda lib, x, y: x**2.5, True),
    "maximum": (lambda lib, x, y: lib.maximum(x, y), True),
    "minimum": (lambda lib, x, y: lib.minimum(x, y), True),
    "gt": (lambda lib, x, y: x > y, False),
    "eq": (lambda lib, x, y: x == y, False),
    "where": (lambda lib, x, y: lib.where(x > 1, x, y), True),
    "relu": (lambda lib, x, y: lib.nn.functional.relu(x), True),
    "gelu": (lambda lib, x, y: lib.nn.functional.gelu(x), True),
    "gelu-tanh": (lambda lib, x, y: lib.nn.functional.gelu(x, approximate="tanh"), True),
    "silu": (lambda lib, x, y: lib.nn.functional.silu(x), True),
    "softplus": (lambda lib, x, y: lib.nn.functional.softplus(x), True),
    "leaky_relu": (lambda lib, x, y: lib.nn.functional.leaky_relu(x), True),
    "elu": (lambda lib, x, y: lib.nn.functional.elu(x), True),
    "hardtanh": (lambda lib, x, y: lib.nn.functional.hardtanh(x), True),
    "softmax": (lambda lib, x, y: lib.softmax(x, -1), True),
    "log_softmax": (lambda lib, x, y: lib.log_softmax(x, -1), True),
    "layer_norm": (lambda lib, x, y: lib.nn.functional.layer_norm(x, (1024,)), True),
    "sum": (lambda lib, x, y: x.sum(), True),
    "sum(-1)": (lambda lib, x, y: x.sum(-1), True),
    "mean": (lambda lib, x, y: x.mean(), True),
    "mean(-1)": (lambda lib, x, y: x.mean(-1), True),
    "max": (lambda lib, x, y: x.max(), True),
    "max(-1)": (lambda lib, x, y: x.max(-1).values, True),
    "var": (lambda lib, x, y: x.var(), True),
    "var(-1)": (lambda lib, x, y: x.var(-1), True),
    "argmax": (lambda lib, x, y: x.argmax(), False),
    "argmax(-1)": (lambda lib, x, y: x.argmax(-1), False),
    "cumsum(-1)": (lambda lib, x, y: x.cumsum(-1), True),
}


def _inputs(lib, n):
    """x in [0.5, 2.5) (every unary op above is defined there), y in [-1, 1); same data in
    both libraries (drawn by NumPy)."""
    import numpy as np

    rng = np.random.default_rng(0)
    shape = (n // 1024, 1024)
    x = lib.from_numpy(rng.uniform(0.5, 2.5, shape).astype(np.float32))
    y = lib.from_numpy(rng.uniform(-1.0, 1.0, shape).astype(np.float32))
    return x, y


STATISTICS = {"median": statistics.median, "min": min}


def _warm_up(fn, calls=10, seconds=0.2):
    """Run ``fn`` until its allocations settle: a library's first calls in a process can take
    several times longer (PyTorch's first ten 1M adds here: 2 ms, then 0.2)."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
        if time.perf_counter() - start > seconds:
            break


def _time(fn, reps, statistic):
    _warm_up(fn)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return STATISTICS[statistic](times)


def child(lib_name, size, reps, only, backward, statistic):
    """Runs in the fresh process: time every op in one library, print a JSON line."""
    lib = __import__(lib_name)
    x, y = _inputs(lib, SIZES[size])
    results = {}
    for name, (forward, differentiable) in OPS.items():
        if only and name not in only:
            continue
        if backward:
            if not differentiable:
                continue
            xg = x.detach().requires_grad_(True)
            yg = y.detach().requires_grad_(True)
            ones = lib.ones_like(forward(lib, x, y))

            def step(forward=forward, xg=xg, yg=yg, ones=ones):
                forward(lib, xg, yg).backward(ones)
                xg.grad = yg.grad = None

            results[name] = _time(step, reps, statistic)
        else:
            with lib.no_grad():
                results[name] = _time(lambda f=forward: f(lib, x, y), reps, statistic)
    print(json.dumps(results))


def _run_child(lib_name, size, reps, only, backward, statistic):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", lib_name, size, str(reps)]
    cmd += ["--statistic", statistic]
    cmd += ["--only", ",".join(only)] if only else []
    cmd += ["--backward"] if backward else []
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{lib_name} {size} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(size, backward, rounds, reps, only, statistic):
    """{op: {lib: [one figure per round]}}, rounds alternating which library goes first."""
    per_op = {}
    for r in range(rounds):
        for lib in LIBRARIES if r % 2 == 0 else LIBRARIES[::-1]:
            for op, t in _run_child(lib, size, reps, only, backward, statistic).items():
                per_op.setdefault(op, {l: [] for l in LIBRARIES})[lib].append(t)
    return per_op


def _cell(times):
    ms = [t * 1e3 for t in times]
    return f"{statistics.median(ms):.2f} ({min(ms):.2f}-{max(ms):.2f})"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--sizes", default="1M,16M")
    p.add_argument("--only", default="")
    p.add_argument(
        "--statistic",
        choices=STATISTICS,
        default="median",
        help="of each process's reps; min shows what an op costs when the cores are free",
    )
    p.add_argument("--no-backward", action="store_true", help="skip forward+backward at 1M")
    p.add_argument("--markdown", default="", help="also write the table to this file")
    p.add_argument("--child", nargs=3, metavar=("LIBRARY", "SIZE", "REPS"), help="internal")
    p.add_argument("--backward", action="store_true", help="internal")
    args = p.parse_args(argv)
    only = [o for o in args.only.split(",") if o]
    unknown = [o for o in only if o not in OPS]
    if unknown:
        p.error(f"unknown ops {unknown}; known: {', '.join(OPS)}")
    if args.child:
        lib_name, size, reps = args.child
        child(lib_name, size, int(reps), only, args.backward, args.statistic)
        return
    columns = [(s, False) for s in args.sizes.split(",")]
    if not args.no_backward:
        columns.append(("1M", True))
    results = {}
    for size, backward in columns:
        label = f"{size} fwd+bwd" if backward else f"{size} fwd"
        results[label] = measure(size, backward, args.rounds, args.reps, only, args.statistic)
        print(f"measured {label}", file=sys.stderr, flush=True)
    labels = list(results)
    head = "| op | " + " | ".join(f"{c} PyTorch ms | {c} ember ms | ratio" for c in labels)
    lines = [head + " |", "|---" * (1 + 3 * len(labels)) + "|"]
    slow = []
    for op in OPS:
        if only and op not in only:
            continue
        cells = []
        for label in labels:
            got = results[label].get(op)
            if got is None:
                cells += ["", "", ""]
                continue
            ratio = statistics.median(got["ember"]) / statistics.median(got["torch"])
            if ratio > SLOW:
                slow.append(f"{op} {label} {ratio:.2f}x")
            cells += [_cell(got["torch"]), _cell(got["ember"]), f"{ratio:.2f}"]
        lines.append(f"| {op} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"Over {SLOW}x PyTorch: " + (", ".join(slow) if slow else "none") + ".")
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
