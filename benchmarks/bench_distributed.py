"""ember.distributed timings: all_reduce bandwidth against raw mpi4py, and DDP training.

``python benchmarks/bench_distributed.py [--repeats N]`` prints markdown tables:

1. The bus bandwidth of an in-place float32 all_reduce (2 (n-1)/n * bytes / time) on 2 ranks,
   through ``ember.distributed.all_reduce`` and through mpi4py's ``Allreduce`` on the same
   NumPy array, from 1 to 256 MB, the two taking turns.
2. DDP training steps of a small CNN (28x28) and ResNet-18 (CIFAR 32x32), written once in the
   PyTorch API (this file, run as ``--ddp-worker``): under ember, started as ember users start
   it (``ember run --nproc-per-node 2``, or ``ember run`` for one process), and under PyTorch
   as PyTorch users start it (``python -m torch.distributed.run --nproc-per-node 2``, gloo, or
   plain ``python`` for one process). Nothing is set for either library: each launcher gives
   its ranks their share of the cores (one thread each on a 2-core machine, as torchrun and
   ``ember run`` set OMP_NUM_THREADS), and the single process keeps its library's default
   (every core). Each rank has the same per-rank batch as the single process, so the scaling
   is 2 x (single step time) / (DDP step time), 2.0 at best. The runs alternate between the
   libraries; each run times ``--steps`` steps after warm-up and gives their median; the
   tables give the median over ``--repeats`` runs and its spread (min-max). For ember the
   "tail" is the time from the end of backward's computation to the end of the last bucket's
   reduction (the gradients averaged), as a share of the step.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

SIZES_MB = [1, 4, 16, 64, 256]
HERE = os.path.abspath(__file__)
# Per-rank batch of each model: small enough for a run of a few seconds on one thread.
BATCH = {"cnn": 32, "resnet18": 8}


# -- all_reduce bandwidth (under mpiexec -n 2) ---------------------------------------------


def _quartiles(values):
    q1, med, q3 = statistics.quantiles(values, n=4)
    return med, q1, q3


def all_reduce_worker():
    """Each size: ember's all_reduce and mpi4py's Allreduce in turns, each after a barrier."""
    from mpi4py import MPI

    import ember as torch
    import ember.distributed as dist

    dist.init_process_group("mpi")
    comm = MPI.COMM_WORLD
    n = dist.get_world_size()
    rows = []
    for mb in SIZES_MB:
        t = torch.ones(mb * 1024 * 1024 // 4)
        arr = t.numpy()
        ops = {
            "ember": lambda t=t: dist.all_reduce(t),
            "mpi4py": lambda arr=arr: comm.Allreduce(MPI.IN_PLACE, arr, op=MPI.SUM),
        }
        times = {name: [] for name in ops}
        for i in range(1 + (40 if mb <= 16 else 8)):
            for name, op in ops.items():
                comm.Barrier()
                start = time.perf_counter()
                op()
                if i:  # the first round warms up
                    times[name].append(time.perf_counter() - start)
        factor = 2 * (n - 1) / n * mb / 1024
        rows.append((mb, factor, _quartiles(times["ember"]), _quartiles(times["mpi4py"])))
    if dist.get_rank() == 0:
        print(f"all_reduce, float32, in place, {n} ranks; median (quartiles) of timed calls\n")
        print("| size MB | ember GB/s | mpi4py GB/s | ember / mpi4py | ember ms | mpi4py ms |")
        print("|---|---|---|---|---|---|")
        for mb, factor, (e, e1, e3), (r, r1, r3) in rows:
            print(
                f"| {mb} | {factor / e:.2f} | {factor / r:.2f} | {r / e:.2f} | "
                f"{e * 1e3:.2f} ({e1 * 1e3:.2f}-{e3 * 1e3:.2f}) | "
                f"{r * 1e3:.2f} ({r1 * 1e3:.2f}-{r3 * 1e3:.2f}) |"
            )
    dist.destroy_process_group()


# -- the DDP training script (PyTorch API; `torch` is ember under `ember run`) --------------


def _model_and_input(torch, name):
    sys.path.insert(0, os.path.dirname(HERE))
    from workloads import _resnet18_cifar, cnn_model

    if name == "cnn":
        return cnn_model(torch), (1, 28, 28)
    return _resnet18_cifar(torch), (3, 32, 32)


def _time_backward_tail(ddp, tails):
    """Record, per step, how long ember's DDP takes from the end of backward's computation (its
    callback at the end of backward) to the gradients averaged (every bucket's reduction
    waited for and written back)."""
    finish = ddp._finish_backward

    def timed():
        start = time.perf_counter()
        finish()
        tails.append(time.perf_counter() - start)

    ddp._finish_backward = timed


def ddp_worker(args):
    import torch

    distributed = "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1
    torch.manual_seed(0)
    model, shape = _model_and_input(torch, args.model)
    rank = 0
    if distributed:
        import torch.distributed as dist

        dist.init_process_group("gloo")
        rank = dist.get_rank()
        model = torch.nn.parallel.DistributedDataParallel(model)
    tails = []
    if distributed and hasattr(model, "_finish_backward"):
        _time_backward_tail(model, tails)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    g = torch.Generator().manual_seed(rank)
    batch = BATCH[args.model]
    x = torch.randn((batch, *shape), generator=g)
    y = torch.randint(0, 10, (batch,), generator=g)
    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    for _ in range(args.warmup + args.steps):
        if distributed:
            dist.barrier()
        start = time.perf_counter()
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
        times.append(time.perf_counter() - start)
    times, tails = times[args.warmup :], tails[args.warmup :]
    if rank == 0:
        step = statistics.median(times)
        tail = statistics.median(t / s for t, s in zip(tails, times)) if tails else None
        print("RESULT " + json.dumps({"step": step, "tail": tail}), flush=True)
    if distributed:
        dist.barrier()  # PyTorch's gloo can abort in destroy_process_group while peers still run
        dist.destroy_process_group()


# -- the driver ---------------------------------------------------------------------------


def _launch(lib, nprocs, model, args):
    script = [HERE, "--ddp-worker", "--model", model, "--steps", str(args.steps)]
    script += ["--warmup", str(args.warmup)]
    if lib == "ember":
        cmd = [sys.executable, "-m", "ember.cli.main", "run"]
        if nprocs > 1:
            cmd += ["--standalone", "--nproc-per-node", str(nprocs)]
    elif nprocs > 1:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        cmd += ["--nproc-per-node", str(nprocs)]
    else:
        cmd = [sys.executable]
    proc = subprocess.run(cmd + script, capture_output=True, text=True, timeout=600)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{' '.join(cmd + script)} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(lines[0][len("RESULT ") :])


def _summary(values, scale=1.0, fmt="{:.1f}"):
    values = [v * scale for v in values]
    med = statistics.median(values)
    return f"{fmt.format(med)} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def bench_ddp(args):
    runs = [("ember", 2), ("torch", 2), ("ember", 1), ("torch", 1)]
    results = {(m, lib, n): [] for m in args.models for lib, n in runs}
    for rep in range(args.repeats):
        order = runs if rep % 2 == 0 else [r for pair in zip(runs[1::2], runs[::2]) for r in pair]
        for model in args.models:
            for lib, n in order:
                results[model, lib, n].append(_launch(lib, n, model, args))
    print(
        f"\nDDP training step, 2 ranks against 1 process, each with its launcher's threads, "
        f"{args.repeats} runs of {args.steps} steps; median (min-max) over runs\n"
    )
    print(
        "| model (batch per rank) | ember DDP ms | torch DDP ms | ember / torch | "
        "ember 1-proc ms | torch 1-proc ms | ember scaling | torch scaling | ember tail % |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for model in args.models:
        step = {k: [r["step"] for r in results[(model, *k)]] for k in runs}
        ratio = [e / t for e, t in zip(step["ember", 2], step["torch", 2])]
        scale = {
            lib: [2 * one / two for one, two in zip(step[lib, 1], step[lib, 2])]
            for lib in ("ember", "torch")
        }
        tail = [r["tail"] for r in results[model, "ember", 2]]
        name = {"cnn": "CNN 28x28", "resnet18": "ResNet-18 32x32"}[model]
        print(
            f"| {name} ({BATCH[model]}) | {_summary(step['ember', 2], 1e3)} | "
            f"{_summary(step['torch', 2], 1e3)} | {_summary(ratio, fmt='{:.2f}')} | "
            f"{_summary(step['ember', 1], 1e3)} | {_summary(step['torch', 1], 1e3)} | "
            f"{_summary(scale['ember'], fmt='{:.2f}')} | {_summary(scale['torch'], fmt='{:.2f}')} "
            f"| {_summary(tail, 100)} |"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per library and model")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per run")
    parser.add_argument(
        "--models", default="cnn,resnet18", type=lambda s: s.split(","), help="cnn,resnet18"
    )
    parser.add_argument("--no-all-reduce", action="store_true", help="skip the bandwidth table")
    parser.add_argument("--model", choices=sorted(BATCH), help=argparse.SUPPRESS)
    parser.add_argument("--ddp-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--all-reduce-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ddp_worker:
        return ddp_worker(args)
    if args.all_reduce_worker:
        return all_reduce_worker()
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"load before: {load}\n")
    if not args.no_all_reduce:
        mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
        cmd = [mpiexec, "-n", "2", sys.executable, HERE, "--all-reduce-worker"]
        subprocess.run(cmd, check=True)
    bench_ddp(args)
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"\nload after: {load}")
    return None


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
