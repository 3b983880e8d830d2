"""ember.distributed timings: all_reduce bandwidth against raw mpi4py, and DDP throughput.

``python benchmarks/bench_distributed.py`` starts itself under ``mpiexec -n 2`` and prints
two tables: the bus bandwidth of an in-place float32 all_reduce (2 (n-1)/n * bytes / time)
through ``ember.distributed.all_reduce`` and through mpi4py's ``Allreduce`` on the same
array, from 1 to 256 MB; and the training throughput of an MLP with DistributedDataParallel
on 2 ranks (each with half of the batch, and its share of the cores for BLAS) against one
process on the whole batch (with every core).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np

SIZES_MB = [1, 4, 16, 64, 256]


def _median_seconds(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_all_reduce():
    from mpi4py import MPI

    import ember as torch
    import ember.distributed as dist

    comm = MPI.COMM_WORLD
    n = dist.get_world_size()
    rows = []
    for mb in SIZES_MB:
        t = torch.ones(mb * 1024 * 1024 // 4)
        arr = t.numpy()
        repeats = 10 if mb <= 16 else 4

        def ember_op(t=t):
            dist.all_reduce(t)

        def raw_op(arr=arr):
            comm.Allreduce(MPI.IN_PLACE, arr, op=MPI.SUM)

        comm.Barrier()
        ember_s = _median_seconds(ember_op, repeats)
        comm.Barrier()
        raw_s = _median_seconds(raw_op, repeats)
        factor = 2 * (n - 1) / n * mb / 1024
        rows.append((mb, factor / ember_s, factor / raw_s, ember_s * 1e3, raw_s * 1e3))
    return rows


def _mlp(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)
    )


def bench_ddp(batch, steps):
    """Samples per second of MLP training: DDP over the group, each rank with batch/n."""
    import ember as torch
    import ember.distributed as dist

    n, rank = dist.get_world_size(), dist.get_rank()
    torch.manual_seed(0)
    model = torch.nn.parallel.DistributedDataParallel(_mlp(torch))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch // n, 784)
    y = torch.randint(0, 10, (batch // n,))

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    dist.barrier()
    seconds = _median_seconds(step, steps)
    times = [None] * n
    dist.all_gather_object(times, seconds)
    return batch / max(times) if rank == 0 else None


def bench_single(batch, steps):
    import ember as torch

    torch.manual_seed(0)
    model = _mlp(torch)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.randn(batch, 784), torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    return batch / _median_seconds(step, steps)


def worker(args):
    import ember.distributed as dist

    dist.init_process_group("mpi")
    rows = bench_all_reduce()
    ddp = bench_ddp(args.batch, args.steps)
    if dist.get_rank() == 0:
        print(f"ranks: {dist.get_world_size()}")
        print("| size MB | ember all_reduce GB/s | mpi4py Allreduce GB/s | ember ms | mpi4py ms |")
        print("|---|---|---|---|---|")
        for mb, e_bw, r_bw, e_ms, r_ms in rows:
            print(f"| {mb} | {e_bw:.2f} | {r_bw:.2f} | {e_ms:.1f} | {r_ms:.1f} |")
        print(f"DDP MLP batch {args.batch}: {ddp:.0f} samples/s on {dist.get_world_size()} ranks")
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("-n", "--nprocs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    if args.single:  # in a fresh process, as the ranks are
        single = bench_single(args.batch, args.steps)
        print(f"one process, MLP batch {args.batch}: {single:.0f} samples/s")
        return None
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    cmd = [
        mpiexec,
        "-n",
        str(args.nprocs),
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        "--batch",
        str(args.batch),
        "--steps",
        str(args.steps),
    ]
    from ember.multiprocessing.spawn import threads_per_process

    subprocess.run(cmd, check=True, env={**os.environ, **threads_per_process(args.nprocs)})
    subprocess.run(
        [
            sys.executable,
            os.path.abspath(__file__),
            "--single",
            "--batch",
            str(args.batch),
            "--steps",
            str(args.steps),
        ],
        check=True,
    )


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
