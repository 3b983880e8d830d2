"""A script that starts its own processes, in the style of PyTorch's DDP tutorial (multigpu.py):
``mp.spawn`` runs ``main(rank, world_size)``, which joins the group with MASTER_ADDR and
MASTER_PORT and trains a DDP model. Run it with plain ``python`` (``--fail`` makes rank 1
raise, to check that the parent gets ProcessRaisedException)."""

import os
import sys

import ember as torch
import ember.distributed as dist
import ember.multiprocessing as mp
from ember import nn


def main(rank, world_size, fail):
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    assert dist.get_rank() == rank and dist.get_world_size() == world_size
    if fail and rank == 1:
        raise KeyError("rank 1 fails on purpose")
    torch.manual_seed(rank)
    model = nn.parallel.DistributedDataParallel(nn.Linear(4, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        model(torch.randn(8, 4)).square().mean().backward()
        opt.step()
    weights = [None] * world_size
    dist.all_gather_object(weights, model.module.weight.detach().numpy())
    assert all((w == weights[0]).all() for w in weights), "replicas diverged"
    print(f"spawned rank {rank} of {world_size} trained in step", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    os.environ["MASTER_ADDR"] = "localhost"
    os.environ["MASTER_PORT"] = "12355"
    fail = "--fail" in sys.argv
    try:
        mp.spawn(main, args=(2, fail), nprocs=2)
    except mp.ProcessRaisedException as e:
        print(f"parent caught ProcessRaisedException from process {e.error_index}: {e}")
        sys.exit(3)
    print("parent: all processes finished")
