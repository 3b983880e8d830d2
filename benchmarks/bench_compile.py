"""Training steps, eager against compiled: ember.compile in ember, torch.compile in PyTorch.

    python benchmarks/bench_compile.py [--workloads mlp gpt ...] [--steps 10] [--no-torch]

For each workload of ``workloads.py`` one process per library builds the same model twice
from the same seed, compiles one copy (``lib.compile``), runs both once to warm up (the
compiled copy's first call compiles, and that call's time is reported), then times the eager
and compiled steps alternately, ``--steps`` times each; the table gives the median and the
range in milliseconds, and compiled/eager. ember runs in this process; PyTorch in a child
process with its own defaults. The fused-chain micro benchmarks (minGPT's NewGELU and a
bias + exact GELU at 32x64x512 float32, forward and forward+backward) run in ember only.
"""

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workloads  # noqa: E402

TRAINING = ["mlp", "cnn", "transformer", "transformer_gelu_tanh", "gpt", "lstm", "resnet18"]


def _compiled_step(step, lib, name):
    """The step with its model replaced by ``lib.compile(model)``: the model is the Module
    with the most parameters among the variables the step closes over."""
    cells = [c for c in step.__closure__ or () if isinstance(c.cell_contents, lib.nn.Module)]
    cell = max(cells, key=lambda c: sum(p.numel() for p in c.cell_contents.parameters()))
    cell.cell_contents = lib.compile(cell.cell_contents, name=name)
    return step


def _time(fn):
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def _summary(times):
    return {"median": statistics.median(times), "min": min(times), "max": max(times)}


def measure(lib, name, steps):
    """Eager and compiled step times (ms) of one workload, alternating, and the first call."""
    eager = getattr(workloads, name)(lib)
    compiled = _compiled_step(getattr(workloads, name)(lib), lib, name)
    warm_eager = _time(eager)
    first_compiled = _time(compiled)
    eager_times, compiled_times = [], []
    for _ in range(steps):
        eager_times.append(_time(eager))
        compiled_times.append(_time(compiled))
    return {
        "eager": _summary(eager_times),
        "compiled": _summary(compiled_times),
        "first_eager_ms": warm_eager,
        "first_compiled_ms": first_compiled,
    }


def fused_chains(steps):
    """ember eager against ember.compile on two elementwise chains."""
    import ember
    import ember.nn.functional as F

    def new_gelu(x):
        return 0.5 * x * (1.0 + ember.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))

    def bias_gelu(x, b):
        return F.gelu(x + b)

    x = ember.randn(32, 64, 512, requires_grad=True)
    b = ember.randn(512, requires_grad=True)
    g = ember.randn(32, 64, 512)
    rows = {}
    for name, fn, args in (("new_gelu", new_gelu, (x,)), ("bias_gelu_erf", bias_gelu, (x, b))):
        compiled = ember.compile(fn)
        compiled(*args)
        for label, backward in (("fwd", False), ("fwd+bwd", True)):
            times = {"eager": [], "compiled": []}
            for _ in range(steps):
                for kind, f in (("eager", fn), ("compiled", compiled)):
                    start = time.perf_counter()
                    out = f(*args)
                    if backward:
                        out.backward(g)
                    times[kind].append((time.perf_counter() - start) * 1e3)
            rows[f"{name} {label}"] = {k: _summary(v) for k, v in times.items()}
    return rows


def _child(lib_name, names, steps, emit=None):
    """Measure ``names`` in ``lib_name``; each result is also passed to ``emit`` when done."""
    if lib_name == "torch":
        import torch as lib
    else:
        import ember as lib
    results = {}
    for name in names:
        try:
            results[name] = measure(lib, name, steps)
        except Exception as error:  # report the failure, keep measuring the others
            results[name] = {"error": f"{type(error).__name__}: {str(error)[:300]}"}
        if emit is not None:
            emit({name: results[name]})
    if lib_name == "ember":
        from ember._dynamo import utils

        results["_compile_times"] = utils.compile_times(repr="csv")
    return results


def _print_line(result):
    print(json.dumps(result), flush=True)


def _row(label, r):
    if "error" in r:
        return f"{label:<28} error: {r['error']}"
    e, c = r["eager"], r["compiled"]
    text = (
        f"{label:<28} eager {e['median']:8.2f} [{e['min']:.2f}-{e['max']:.2f}]"
        f"   compiled {c['median']:8.2f} [{c['min']:.2f}-{c['max']:.2f}]"
        f"   ratio {c['median'] / e['median']:.2f}"
    )
    if "first_compiled_ms" in r:
        text += f"   first compiled call {r['first_compiled_ms']:.0f} ms"
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=TRAINING, choices=TRAINING)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--child", choices=["torch", "ember"], help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    if args.child:  # one JSON line per workload, so a slow last one loses nothing
        _child(args.child, args.workloads, args.steps, emit=_print_line)
        return
    report = {"ember": _child("ember", args.workloads, args.steps)}
    report["ember_chains"] = fused_chains(args.steps)
    if not args.no_torch:
        command = [sys.executable, __file__, "--child", "torch", "--steps", str(args.steps)]
        done = subprocess.run(
            command + ["--workloads", *args.workloads], capture_output=True, text=True
        )
        report["torch"] = {}
        for line in done.stdout.splitlines():
            if line.startswith("{"):  # anything else is a library's own printing
                report["torch"].update(json.loads(line))
        if done.returncode != 0:
            report["torch_error"] = done.stderr[-2000:]
    print("step times in ms: median [min-max] over", args.steps, "alternating steps")
    for lib in ("ember", "torch"):
        for name, r in report.get(lib, {}).items():
            if not name.startswith("_"):
                print(_row(f"{lib} {name}", r))
    for name, r in report["ember_chains"].items():
        print(_row(f"ember chain {name}", r))
    if "torch_error" in report:
        print("torch.compile child failed:\n" + report["torch_error"])
    header, rows = report["ember"]["_compile_times"]
    print("ember compile times (s):", header)
    for row in rows:
        print("   ", [round(v, 4) if isinstance(v, float) else v for v in row])
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
