"""Activation checkpointing's peak memory and ``func.vmap``'s speed, ember against PyTorch.

    python benchmarks/bench_func.py [--rounds 3]

Each measurement runs in a fresh process that imports one library only and keeps its defaults.

* checkpoint: a training step (forward, backward) of a deep MLP (16 blocks of two Linear 256 +
  GELU pairs, batch 4096: activations outweigh weights), plain and with every block under
  ``torch.utils.checkpoint.checkpoint`` (``use_reentrant=False``). Memory is the rise of the
  process's peak resident set during the first full-size step over its resident set before it
  (after a warm-up step at batch 8; the same measure for both libraries: ember's memory pool
  keeps freed blocks, so a later step would show no rise); time is the second full-size step.
* vmap: per-sample gradients of a small MLP's loss over a batch of 64, as ``vmap(grad(f))``
  with ``functional_call`` against the loop a user writes without it (one backward per sample).

Rounds alternate which library goes first; a figure is the median over rounds, with the
spread (min-max) beside it.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time

import numpy as np

DEPTH, WIDTH, BATCH = 16, 256, 4096


def _status_bytes(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak_rss():
    """Linux: writing 5 to clear_refs resets the peak resident set (VmHWM) to the current one."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _checkpoint_step(lib, checkpointed):
    from importlib import import_module

    checkpoint = import_module(f"{lib.__name__}.utils.checkpoint").checkpoint
    nn = lib.nn
    blocks = [
        nn.Sequential(nn.Linear(WIDTH, WIDTH), nn.GELU(), nn.Linear(WIDTH, WIDTH), nn.GELU())
        for _ in range(DEPTH)
    ]
    rng = np.random.default_rng(0)
    small = lib.tensor(rng.standard_normal((8, WIDTH)).astype(np.float32), requires_grad=True)
    x = lib.tensor(rng.standard_normal((BATCH, WIDTH)).astype(np.float32), requires_grad=True)

    def run(h):
        for block in blocks:
            h = checkpoint(block, h, use_reentrant=False) if checkpointed else block(h)
        h.sum().backward()

    import gc

    run(small)  # lazy initialisation in either library, at a size that leaves no pool behind
    gc.collect()
    _reset_peak_rss()
    before = _status_bytes("VmRSS")
    run(x)
    rise = _status_bytes("VmHWM") - before
    for block in blocks:
        block.zero_grad(set_to_none=True)
    x.grad = None
    start = time.perf_counter()
    run(x)
    seconds = time.perf_counter() - start
    return {"peak_rise_mb": rise / 2**20, "step_ms": seconds * 1e3}


def _vmap_case(lib, use_vmap):
    from importlib import import_module

    func = import_module(f"{lib.__name__}.func")
    nn = lib.nn
    model = nn.Sequential(nn.Linear(32, 64), nn.Tanh(), nn.Linear(64, 10))
    params = {k: v.detach() for k, v in model.named_parameters()}
    rng = np.random.default_rng(0)
    xs = lib.tensor(rng.standard_normal((64, 32)).astype(np.float32))
    ys = lib.tensor(rng.integers(0, 10, 64))
    F = nn.functional

    def loss_of(p, x, y):
        out = func.functional_call(model, p, (x.unsqueeze(0),))
        return F.cross_entropy(out, y.unsqueeze(0))

    per_sample = func.vmap(func.grad(loss_of), in_dims=(None, 0, 0))

    def loop():
        grads = []
        for i in range(xs.shape[0]):
            model.zero_grad(set_to_none=True)
            F.cross_entropy(model(xs[i : i + 1]), ys[i : i + 1]).backward()
            grads.append([p.grad.clone() for p in model.parameters()])
        return grads

    step = (lambda: per_sample(params, xs, ys)) if use_vmap else loop
    step()
    times = []
    for _ in range(7):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return {"step_ms": statistics.median(times) * 1e3}


def child(lib_name, case):
    lib = __import__(lib_name)
    if case in ("plain", "checkpoint"):
        result = _checkpoint_step(lib, checkpointed=case == "checkpoint")
    else:
        result = _vmap_case(lib, use_vmap=case == "vmap")
    print(json.dumps(result))


def _spawn(lib_name, case):
    out = subprocess.run(
        [sys.executable, __file__, "--child", lib_name, case],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


CASES = {
    "plain": "deep MLP step, no checkpointing",
    "checkpoint": "deep MLP step, every block checkpointed",
    "loop": "per-sample grads, loop of backward",
    "vmap": "per-sample grads, vmap(grad)",
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", nargs=2)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    results = {(case, lib): [] for case in CASES for lib in ("ember", "torch")}
    for r in range(args.rounds):
        order = ("ember", "torch") if r % 2 == 0 else ("torch", "ember")
        for case in CASES:
            for lib in order:
                results[case, lib].append(_spawn(lib, case))

    def figure(case, lib, key):
        values = [r[key] for r in results[case, lib]]
        return statistics.median(values), min(values), max(values)

    print("| case | ember | PyTorch | ratio |")
    print("|---|---|---|---|")
    for case, label in CASES.items():
        for key, unit in (("peak_rise_mb", "MB"), ("step_ms", "ms")):
            if key not in results[case, "ember"][0]:
                continue
            e, t = figure(case, "ember", key), figure(case, "torch", key)
            print(
                f"| {label}: {key.split('_')[0] if unit == 'MB' else 'time'} "
                f"| {e[0]:.0f} {unit} ({e[1]:.0f}-{e[2]:.0f}) "
                f"| {t[0]:.0f} {unit} ({t[1]:.0f}-{t[2]:.0f}) | {e[0] / t[0]:.2f} |"
            )


if __name__ == "__main__":
    main()
