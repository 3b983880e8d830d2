"""One optimizer step over 10 million float32 parameters in 50 tensors, ember against PyTorch.

    python benchmarks/bench_optim.py [--steps 10] [--params 10000000] [--tensors 50]

PyTorch runs twice: its CPU default (a loop over tensors) and foreach=True (multi-tensor
kernels). The ratio is ember's median over PyTorch foreach's median.
"""

import argparse
import gc
import statistics
import time

import numpy as np
import torch

import ember

CASES = {
    "SGD-momentum": ("SGD", dict(lr=0.01, momentum=0.9)),
    "Adam": ("Adam", dict(lr=1e-3)),
    "AdamW": ("AdamW", dict(lr=1e-3, weight_decay=1e-2)),
}


def build(lib, name, kwargs, arrays, grads, foreach=None):
    params = [lib.tensor(a.copy(), requires_grad=True) for a in arrays]
    for p, g in zip(params, grads):
        p.grad = lib.tensor(g.copy())
    extra = {} if foreach is None else {"foreach": foreach}
    return getattr(lib.optim, name)(params, **kwargs, **extra)


def median_ms(step, steps, warmup=2):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--params", type=int, default=10_000_000)
    p.add_argument("--tensors", type=int, default=50)
    args = p.parse_args(argv)
    rng = np.random.default_rng(0)
    size = args.params // args.tensors
    arrays = [rng.standard_normal(size, dtype=np.float32) for _ in range(args.tensors)]
    grads = [rng.standard_normal(size, dtype=np.float32) for _ in range(args.tensors)]
    print(f"{args.tensors} tensors x {size} float32, torch threads {torch.get_num_threads()}")
    print(f"{'optimizer':<14}{'torch ms':>10}{'foreach ms':>12}{'ember ms':>10}{'ratio':>8}")
    for label, (name, kwargs) in CASES.items():
        loop = build(torch, name, kwargs, arrays, grads, foreach=False)
        multi = build(torch, name, kwargs, arrays, grads, foreach=True)
        ours = build(ember, name, kwargs, arrays, grads)
        gc.collect()
        t_loop = median_ms(loop.step, args.steps)
        t_multi = median_ms(multi.step, args.steps)
        t_ours = median_ms(ours.step, args.steps)
        print(
            f"{label:<14}{t_loop:>10.2f}{t_multi:>12.2f}{t_ours:>10.2f}{t_ours / t_multi:>8.2f}",
            flush=True,
        )
        del loop, multi, ours


if __name__ == "__main__":
    main()
