"""Started by ``ember run --nproc-per-node N``: check the launcher's environment, then train."""

import os
import sys

import torch
import torch.distributed as dist

expected_world = int(sys.argv[1])
dist.init_process_group(backend="gloo")
rank, world = dist.get_rank(), dist.get_world_size()
assert world == expected_world == int(os.environ["WORLD_SIZE"]), (world, os.environ["WORLD_SIZE"])
env = {k: int(os.environ[k]) for k in ("RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK")}
assert rank == env["RANK"] == env["GROUP_RANK"] * env["LOCAL_WORLD_SIZE"] + env["LOCAL_RANK"], env
t = torch.ones(2) * (rank + 1)
dist.all_reduce(t)
assert t.tolist() == [world * (world + 1) / 2] * 2, t
assert torch.__name__ == "torch" and "ember" in repr(torch.ones(1).__class__)
print(f"launched rank {rank} of {world} with {os.environ['MASTER_ADDR']}", flush=True)
dist.destroy_process_group()
