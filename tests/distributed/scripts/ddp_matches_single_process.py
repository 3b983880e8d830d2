"""DDP on every rank's share of the batch gives the weights of one process on the whole batch.

Run under mpiexec. Options: --no-sync (accumulate two micro-batches under no_sync),
--unused (a branch that is not used: needs find_unused_parameters=True),
--bucket-mb (bucket size; small values make several buckets).
"""

import argparse
import copy

import numpy as np

import ember as torch
import ember.distributed as dist
from ember import nn

parser = argparse.ArgumentParser()
parser.add_argument("--no-sync", action="store_true")
parser.add_argument("--unused", action="store_true")
parser.add_argument("--no-detect", action="store_true", help="leave find_unused_parameters off")
parser.add_argument("--bucket-mb", type=float, default=25)
parser.add_argument("--steps", type=int, default=20)
parser.add_argument("--zero", action="store_true", help="Adam through ZeroRedundancyOptimizer")
args = parser.parse_args()


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.Tanh(), nn.Linear(16, 4))
        if args.unused:
            self.unused = nn.Linear(8, 4)

    def forward(self, x):
        return self.body(x)


dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()
torch.manual_seed(rank)  # different initial weights per rank: DDP must broadcast rank 0's
model = Net()
ddp = nn.parallel.DistributedDataParallel(
    model, find_unused_parameters=args.unused and not args.no_detect, bucket_cap_mb=args.bucket_mb
)
assert all(k.startswith("module.") for k in ddp.state_dict()), list(ddp.state_dict())
reference = copy.deepcopy(model)  # rank 0's weights, after the broadcast
if args.zero:
    from ember.distributed.optim import ZeroRedundancyOptimizer

    opt = ZeroRedundancyOptimizer(ddp.parameters(), optimizer_class=torch.optim.Adam, lr=0.01)
    ref_opt = torch.optim.Adam(reference.parameters(), lr=0.01)
    owned = sum(len(g["params"]) for g in opt.optim.param_groups)
    assert 0 < owned < len(list(model.parameters())), owned  # each rank holds a share
else:
    opt = torch.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    ref_opt = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
rng = np.random.default_rng(0)
per_rank = 6
micro = 2 if args.no_sync else 1
for _ in range(args.steps):
    x = torch.tensor(rng.standard_normal((micro, world * per_rank, 8)).astype(np.float32))
    y = torch.tensor(rng.standard_normal((micro, world * per_rank, 4)).astype(np.float32))
    opt.zero_grad()
    for m in range(micro):
        mine = slice(rank * per_rank, (rank + 1) * per_rank)
        ctx = ddp.no_sync() if m < micro - 1 else torch.enable_grad()
        with ctx:
            loss = ((ddp(x[m, mine]) - y[m, mine]) ** 2).mean() / micro
            loss.backward()
    opt.step()
    ref_opt.zero_grad()
    for m in range(micro):
        # BatchNorm sees each rank's share in DDP; the reference runs the shares one by one.
        parts = [reference(x[m, r * per_rank : (r + 1) * per_rank]) for r in range(world)]
        out = torch.cat(parts)
        ((out - y[m]) ** 2).mean().div(micro).backward()
    ref_opt.step()

for (name, p), q in zip(model.named_parameters(), reference.parameters()):
    if args.unused and name.startswith("unused"):
        assert p.grad is None, name
        continue
    np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=2e-5, atol=2e-6)
if args.zero:
    opt.consolidate_state_dict(to=0)
    if rank == 0:
        full, want = opt.state_dict(), ref_opt.state_dict()
        assert sorted(full["state"]) == sorted(want["state"]), (
            full["state"].keys(),
            want["state"].keys(),
        )
        for k, st in want["state"].items():
            np.testing.assert_allclose(
                full["state"][k]["exp_avg"].numpy(), st["exp_avg"].numpy(), rtol=1e-4, atol=1e-7
            )
print(f"rank {rank}: DDP weights match the single-process weights after {args.steps} steps")
dist.destroy_process_group()
