"""nn layers, forward + backward, ember against PyTorch in the same run.

    python benchmarks/bench_nn.py [--repeats 20] [--warmup 3] [--only conv2d,lstm]

Each case builds the same layer (same weights) and inputs in both libraries. Runs alternate
between the two libraries (one PyTorch step, one ember step, ...) so that load from other
processes on a shared machine falls on both alike; the first ``--warmup`` pairs are dropped
and the median of the rest is reported. The ratio is ember's median over PyTorch's.

Both libraries run OpenMP thread pools; their threads sleep between parallel regions here
(OMP_WAIT_POLICY=PASSIVE, set before either loads), or the threads of whichever library ran
last keep spinning on the cores while the other is timed. PyTorch's own times are the same
either way on the development machine (layer norm 3.8 against 4.1 ms).
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import ember  # noqa: E402

rng = np.random.default_rng(0)


def _same_weights(tmod, emod):
    emod.load_state_dict(
        {k: ember.tensor(v.detach().numpy()) for k, v in tmod.state_dict().items()}
    )


def _module_case(name, build_args, build_kw, x_shape, call=lambda m, x: m(x), pick=lambda o: o):
    """A step: forward, backward of a fixed random cotangent, into input and weight grads."""

    def make(lib, tmod=None):
        mod = getattr(lib.nn, name)(*build_args, **build_kw)
        if tmod is not None:
            _same_weights(tmod, mod)
        x = lib.tensor(X[x_shape], requires_grad=True)
        out = pick(call(mod, x))
        cot = lib.tensor(rng.standard_normal(tuple(out.shape)).astype(np.float32))

        def step():
            mod.zero_grad(set_to_none=True)
            x.grad = None
            pick(call(mod, x)).backward(cot)

        return mod, step

    def both():
        tmod, t_step = make(torch)
        _, e_step = make(ember, tmod)
        return t_step, e_step

    return both


class _Inputs(dict):
    def __missing__(self, shape):
        self[shape] = rng.standard_normal(shape).astype(np.float32)
        return self[shape]


X = _Inputs()


def _cross_entropy_case(n, c):
    def both():
        steps = []
        logits = rng.standard_normal((n, c)).astype(np.float32) * 3
        target = rng.integers(0, c, n)
        for lib in (torch, ember):
            x = lib.tensor(logits, requires_grad=True)
            y = lib.tensor(target)

            def step(lib=lib, x=x, y=y):
                x.grad = None
                lib.nn.functional.cross_entropy(x, y).backward()

            steps.append(step)
        return steps

    return both


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


def interleaved_ms(t_step, e_step, repeats, warmup):
    """Medians in ms of the two steps, run alternately."""
    t_times, e_times = [], []
    for i in range(warmup + repeats):
        for step, times in ((t_step, t_times), (e_step, e_times)):
            t0 = time.perf_counter()
            step()
            if i >= warmup:
                times.append(time.perf_counter() - t0)
    return statistics.median(t_times) * 1e3, statistics.median(e_times) * 1e3


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--only", default=",".join(CASES), help="comma-separated: " + ", ".join(CASES))
    args = p.parse_args(argv)
    print(
        f"float32, forward + backward; torch threads {torch.get_num_threads()}; median of "
        f"{args.repeats} interleaved runs after {args.warmup} warm-up pairs"
    )
    print(f"| {'case':<58} | {'torch ms':>9} | {'ember ms':>9} | {'ratio':>6} |")
    print(f"|{'-' * 60}|{'-' * 11}|{'-' * 11}|{'-' * 8}|")
    for key in args.only.split(","):
        label, build = CASES[key]
        t_step, e_step = build()
        t_ms, e_ms = interleaved_ms(t_step, e_step, args.repeats, args.warmup)
        print(f"| {label:<58} | {t_ms:>9.2f} | {e_ms:>9.2f} | {e_ms / t_ms:>6.2f} |", flush=True)
        del t_step, e_step


if __name__ == "__main__":
    main()
