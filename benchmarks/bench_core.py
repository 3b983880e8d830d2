"""Core op speed: ember against PyTorch and raw NumPy, each in a process of its own.

    python benchmarks/bench_core.py [--rounds 3] [--repeats 21] [--json results.json] [--quick]

Measured: the cost of one small op recorded by autograd (x * y on 10 elements that require
grad), forward and backward of a chain of 100 small ops, float32 matmul at 1024^2 and 2048^2
(GFLOP/s), and elementwise add, mul and exp on 1M and 16M float32 elements. Each library runs
in a fresh process with its own defaults (nothing is set for PyTorch that a PyTorch user would
not set); a process times every case ``--repeats`` times after warm-up and reports each
median. Rounds alternate the order of the libraries; a figure is the median over rounds with
the range of the round medians. Ratios are ember's time over the other library's time: above
1 is slower than the other.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

LIBRARIES = ("ember", "torch", "numpy")
SIZES = ((1 << 20, "1M"), (1 << 24, "16M"))
ELEMENTWISE = ("add", "mul", "exp")


def _median_seconds(fn, repeats, inner, warmup=2):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t0) / inner)
    return statistics.median(samples)


def _operands(seed, shape):
    rng = np.random.default_rng(seed)
    draw = rng.standard_normal
    return draw(shape, dtype=np.float32), draw(shape, dtype=np.float32)


def _small_op(lib):
    """x * y on 10-element tensors that require grad: the per-op cost of recording."""
    a, b = _operands(0, 10)
    if lib is np:
        return lambda: np.multiply(a, b)
    x, y = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
    return lambda: x * y


def _chain(lib):
    """Forward and backward of 100 small ops (mul, add, tanh, sub) on 10 elements."""
    x = lib.tensor(_operands(1, 10)[0], requires_grad=True)

    def run():
        y = x
        for _ in range(25):
            y = ((y * 0.9) + 0.1).tanh() - 0.05
        y.sum().backward()
        x.grad = None

    return run


def _matmul(lib, n):
    a, b = _operands(2, (n, n))
    if lib is not np:
        a, b = lib.tensor(a), lib.tensor(b)
    return lambda: a @ b


def _elementwise(lib, name, n):
    a, b = _operands(3, n)
    if lib is np:
        return {"add": lambda: np.add(a, b), "mul": lambda: np.multiply(a, b),
                "exp": lambda: np.exp(a)}[name]  # fmt: skip
    x, y = lib.tensor(a), lib.tensor(b)
    return {"add": lambda: x + y, "mul": lambda: x * y, "exp": lambda: x.exp()}[name]


def cases(quick):
    """(name, unit, builder(lib) -> fn or None, inner calls per sample, flops or None)."""
    rows = [
        ("x*y, 10 elems, autograd", "us", _small_op, 2000, None),
        ("100-op chain fwd+bwd", "ms", lambda lib: None if lib is np else _chain(lib), 20, None),
    ]
    for n in (1024,) if quick else (1024, 2048):
        rows.append((f"matmul {n}^2 float32", "GFLOP/s", lambda lib, n=n: _matmul(lib, n), 1,
                     2 * n**3))  # fmt: skip
    for n, label in SIZES[:1] if quick else SIZES:
        for name in ELEMENTWISE:
            rows.append((f"{name} {label} float32", "ms",
                         lambda lib, name=name, n=n: _elementwise(lib, name, n),
                         max(1, 2_000_000 // n), None))  # fmt: skip
    return rows


def child(lib_name, repeats, quick):
    """Runs in the fresh process: every case in one library, one JSON line of medians."""
    lib = np if lib_name == "numpy" else __import__(lib_name)
    out = {}
    for name, _, build, inner, _ in cases(quick):
        fn = build(lib)
        if fn is not None:
            out[name] = _median_seconds(fn, repeats, inner)
    print(json.dumps(out))


def run_in_process(lib_name, repeats, quick):
    argv = [sys.executable, os.path.abspath(__file__), "--child", lib_name, "--repeats",
            str(repeats)] + (["--quick"] if quick else [])  # fmt: skip
    out = subprocess.run(argv, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{lib_name} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(rounds, repeats, quick):
    """{case: {library: [seconds per round]}}, rounds alternating the order of the libraries."""
    got = {}
    for r in range(rounds):
        order = LIBRARIES if r % 2 == 0 else LIBRARIES[::-1]
        for lib_name in order:
            for case, seconds in run_in_process(lib_name, repeats, quick).items():
                got.setdefault(case, {}).setdefault(lib_name, []).append(seconds)
    return got


def _value(unit, flops, seconds):
    if unit == "GFLOP/s":
        return flops / seconds / 1e9
    return seconds * (1e6 if unit == "us" else 1e3)


def table(got, quick):
    head = (f"{'case':<26}{'unit':>8}{'ember':>22}{'torch':>22}{'numpy':>22}"
            f"{'ember/torch':>13}{'ember/numpy':>13}")  # fmt: skip
    lines = [head, "-" * len(head)]
    rows = []
    for name, unit, _, _, flops in cases(quick):
        per_lib = got.get(name, {})
        medians = {k: statistics.median(v) for k, v in per_lib.items()}
        cells = []
        for k in LIBRARIES:
            if k not in per_lib:
                cells.append(f"{'-':>22}")
                continue
            lo, hi = sorted(_value(unit, flops, s) for s in (min(per_lib[k]), max(per_lib[k])))
            mid = _value(unit, flops, medians[k])
            cells.append(f"{f'{mid:.2f} ({lo:.2f}-{hi:.2f})':>22}")
        ratios = [f"{medians['ember'] / medians[k]:>13.2f}" if k in medians else f"{'-':>13}"
                  for k in ("torch", "numpy")]  # fmt: skip
        lines.append(f"{name:<26}{unit:>8}" + "".join(cells) + "".join(ratios))
        rows.append({"case": name, "unit": unit, "seconds": per_lib})
    return "\n".join(lines), rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3, help="processes per library (alternating)")
    p.add_argument("--repeats", type=int, default=21, help="samples per case (median taken)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--quick", action="store_true", help="only the 1024 matmul and 1M elements")
    p.add_argument("--child", choices=LIBRARIES, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child(args.child, args.repeats, args.quick)
        return
    print(f"# a process per library, {args.rounds} rounds alternating; median of "
          f"{args.repeats} samples per process, then median (min-max) over rounds")  # fmt: skip
    text, rows = table(run(args.rounds, args.repeats, args.quick), args.quick)
    print(text)
    print("ratios are times (ember / other): above 1 means ember is slower")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rounds": args.rounds, "repeats": args.repeats, "results": rows}, f,
                      indent=1)  # fmt: skip


if __name__ == "__main__":
    main()
