"""The same DDP training script under PyTorch (gloo) and under ember; run under mpiexec with
``--lib torch`` or ``--lib ember`` and an output folder; rank 0 saves the final state."""

import argparse
import os

import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--lib", choices=["torch", "ember"], required=True)
parser.add_argument("--out", required=True)
parser.add_argument("--port", default="29541")
parser.add_argument(
    "--branchy",
    action="store_true",
    help="a layer that some ranks use in some steps (find_unused_parameters)",
)
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


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 4))
        self.extra = nn.Linear(4, 4)

    def forward(self, x, use_extra):
        out = self.body(x)
        return self.extra(out) if use_extra else out


model = Branchy()
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
    model, bucket_cap_mb=0.0002, find_unused_parameters=args.branchy
)
opt = torch.optim.SGD(ddp.parameters(), lr=0.02, momentum=0.9)
data = np.random.default_rng(100 + rank)
for step in range(10):
    x = torch.tensor(data.standard_normal((5, 8)).astype(np.float32))
    y = torch.tensor(data.standard_normal((5, 4)).astype(np.float32))
    opt.zero_grad()
    use_extra = (step + rank) % 3 == 0 if args.branchy else True
    nn.functional.mse_loss(ddp(x, use_extra), y).backward()
    opt.step()
if rank == 0:
    state = {k: v.detach().numpy() for k, v in ddp.state_dict().items()}
    np.savez(os.path.join(args.out, f"{args.lib}.npz"), **state)
dist.barrier()  # PyTorch's gloo can abort when a peer leaves while the other still works
dist.destroy_process_group()
