"""DDP ``join()`` on uneven inputs, the same script under PyTorch (gloo) and under ember.

Run under mpiexec with ``--lib torch`` or ``--lib ember`` and an output folder. Rank r has
3 + 2 r batches; gradients are averaged over the initial world size or over the ranks still
training, with and without find_unused_parameters. Every rank saves its final states (after
join, the last rank's model) to ``<lib>_rank<r>.npz``, and what ``throw_on_early_termination``
raised to ``<lib>_rank<r>.txt``.
"""

import argparse
import os

import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--lib", choices=["torch", "ember"], required=True)
parser.add_argument("--out", required=True)
parser.add_argument("--port", default="29542")
args = parser.parse_args()
if args.lib == "torch":
    import torch
    import torch.distributed as dist

    os.environ.update(
        RANK=os.environ["PMI_RANK"],
        WORLD_SIZE=os.environ["PMI_SIZE"],
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=args.port,
    )
else:
    import ember as torch
    import ember.distributed as dist
nn = torch.nn

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()


def build(find_unused):
    model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 4))
    g = np.random.default_rng(rank)  # different weights per rank: DDP must broadcast rank 0's
    model.load_state_dict(
        {
            k: torch.tensor((0.3 * g.standard_normal(tuple(v.shape))).astype(np.float32))
            if v.dtype == torch.float32
            else v
            for k, v in model.state_dict().items()
        }
    )
    ddp = nn.parallel.DistributedDataParallel(
        model, bucket_cap_mb=0.0002, find_unused_parameters=find_unused
    )
    return ddp, torch.optim.SGD(ddp.parameters(), lr=0.05, momentum=0.9)


def batches(count):
    data = np.random.default_rng(100 + rank)
    for _ in range(count):
        x = torch.tensor(data.standard_normal((5, 8)).astype(np.float32))
        yield x, torch.tensor(data.standard_normal((5, 4)).astype(np.float32))


state = {}
for find_unused, by_initial in ((False, True), (True, True), (False, False)):
    ddp, opt = build(find_unused)
    with ddp.join(divide_by_initial_world_size=by_initial):
        for x, y in batches(3 + 2 * rank):
            opt.zero_grad()
            nn.functional.mse_loss(ddp(x), y).backward()
            opt.step()
    with torch.no_grad():  # after the block: a plain forward on every rank
        ddp.eval()(torch.ones(2, 8))
    case = f"unused={find_unused},by_initial={by_initial}"
    state.update({f"{case}.{k}": v.detach().numpy() for k, v in ddp.state_dict().items()})
np.savez(os.path.join(args.out, f"{args.lib}_rank{rank}.npz"), **state)

ddp, opt = build(False)
message = "no error"
try:
    with ddp.join(throw_on_early_termination=True):
        for x, y in batches(2 + rank):
            opt.zero_grad()
            nn.functional.mse_loss(ddp(x), y).backward()
            opt.step()
except RuntimeError as e:
    message = f"{type(e).__name__}: {e}"
with open(os.path.join(args.out, f"{args.lib}_rank{rank}.txt"), "w") as f:
    f.write(message)
dist.barrier()  # PyTorch may still run the last round's all-reduce: let it end first
dist.destroy_process_group()
