"""One rank of a group whose ranks are separate MPI jobs (``mpiexec -n 1`` each, as on several
machines); RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT come from the environment."""

import ember as torch
import ember.distributed as dist

dist.init_process_group("gloo")
rank, n = dist.get_rank(), dist.get_world_size()
t = torch.tensor([float(rank + 1)])
dist.all_reduce(t)
assert t.item() == n * (n + 1) / 2, t
ranks = [None] * n
dist.all_gather_object(ranks, rank)
assert ranks == list(range(n)), ranks
print(f"joined rank {rank} of {n}", flush=True)
dist.destroy_process_group()
