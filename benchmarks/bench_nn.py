"""nn layers, forward + backward, ember against PyTorch, each library in its own process.

    python benchmarks/bench_nn.py [--rounds 3] [--repeats 20] [--warmup 3] [--only conv2d,lstm]

Each case builds the same layer and inputs in a fresh process that imports one library only
and keeps its defaults (nothing is set for PyTorch); weights and inputs come from the same
NumPy seed in both. Rounds alternate which library goes first; a figure is the median over
rounds of each process's median step (after ``--warmup`` steps). The ratio is ember's over
PyTorch's.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

rng = np.random.default_rng(0)


def _seeded_weights(lib, mod):
    """The same weights in either library: drawn from one NumPy seed in state_dict order."""
    weights = np.random.default_rng(1)
    state = {
        k: lib.tensor((weights.standard_normal(tuple(v.shape)) * 0.05).astype(np.float32))
        for k, v in mod.state_dict().items()
    }
    mod.load_state_dict(state)


def _module_case(name, build_args, build_kw, x_shape, call=lambda m, x: m(x), pick=lambda o: o):
    """A step: forward, backward of a fixed random cotangent, into input and weight grads."""

    def make(lib):
        mod = getattr(lib.nn, name)(*build_args, **build_kw)
        _seeded_weights(lib, mod)
        x = lib.tensor(X[x_shape], requires_grad=True)
        out = pick(call(mod, x))
        cot = lib.tensor(rng.standard_normal(tuple(out.shape)).astype(np.float32))

        def step():
            mod.zero_grad(set_to_none=True)
            x.grad = None
            pick(call(mod, x)).backward(cot)

        return step

    return make


class _Inputs(dict):
    def __missing__(self, shape):
        self[shape] = rng.standard_normal(shape).astype(np.float32)
        return self[shape]


X = _Inputs()


def _cross_entropy_case(n, c):
    def make(lib):
        x = lib.tensor(rng.standard_normal((n, c)).astype(np.float32) * 3, requires_grad=True)
        y = lib.tensor(rng.integers(0, c, n))

        def step():
            x.grad = None
            lib.nn.functional.cross_entropy(x, y).backward()

        return step

    return make


CASES = {
    "conv2d": (
        "Conv2d 32->64 3x3 pad 1, x (64, 32, 28, 28)",
        _module_case("Conv2d", (32, 64, 3), {"padding": 1}, (64, 32, 28, 28)),
    ),
    "lstm": (
        "LSTM 128->256, seq 50, batch 32",
        _module_case("LSTM", (128, 256), {}, (50, 32, 128), pick=lambda o: o[0]),
    ),
    "mha": (
        "MultiheadAttention d 256, 8 heads, batch 32, seq 128",
        _module_case(
            "MultiheadAttention",
            (256, 8),
            {"batch_first": True},
            (32, 128, 256),
            call=lambda m, x: m(x, x, x),
            pick=lambda o: o[0],
        ),
    ),
    "layernorm": (
        "LayerNorm 1024, x (4096, 1024)",
        _module_case("LayerNorm", (1024,), {}, (4096, 1024)),
    ),
    "cross_entropy": ("cross_entropy, logits (4096, 1000)", _cross_entropy_case(4096, 1000)),
}


def child(lib_name, key, repeats, warmup):
    """Runs in the fresh process: median ms of one case in one library, printed as JSON."""
    step = CASES[key][1](__import__(lib_name))
    times = []
    for i in range(warmup + repeats):
        t0 = time.perf_counter()
        step()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    print(json.dumps(statistics.median(times) * 1e3))


def in_process(lib_name, key, repeats, warmup):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", lib_name, key]
    cmd += ["--repeats", str(repeats), "--warmup", str(warmup)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{lib_name} {key} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--only", default=",".join(CASES), help="comma-separated: " + ", ".join(CASES))
    p.add_argument("--child", nargs=2, metavar=("LIBRARY", "CASE"), help="internal")
    args = p.parse_args(argv)
    if args.child:
        return child(*args.child, args.repeats, args.warmup)
    print(f"float32, forward + backward; a process per library and round, {args.rounds} rounds")
    print(f"| {'case':<58} | {'torch ms':>9} | {'ember ms':>9} | {'ratio':>6} |")
    print(f"|{'-' * 60}|{'-' * 11}|{'-' * 11}|{'-' * 8}|")
    for key in args.only.split(","):
        times = {"torch": [], "ember": []}
        for r in range(args.rounds):
            for lib in ("torch", "ember") if r % 2 == 0 else ("ember", "torch"):
                times[lib].append(in_process(lib, key, args.repeats, args.warmup))
        t_ms, e_ms = statistics.median(times["torch"]), statistics.median(times["ember"])
        label = CASES[key][0]
        print(f"| {label:<58} | {t_ms:>9.2f} | {e_ms:>9.2f} | {e_ms / t_ms:>6.2f} |", flush=True)


if __name__ == "__main__":
    main()
