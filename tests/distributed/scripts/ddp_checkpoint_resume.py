"""Checkpoint on rank 0, resume on every rank: the weights of an uninterrupted run.

Run under mpiexec with a folder for the checkpoint. For each way of saving (the wrapped
module's state_dict, or DDP's own with its ``module.`` prefix) the script trains 3 steps,
rank 0 saves the model and optimizer states, every rank waits at a barrier, builds a fresh
model (other initial weights), loads the files with ``map_location`` and trains 3 more steps.
The result must equal 6 uninterrupted steps, parameters and BatchNorm buffers alike.
"""

import argparse
import os

import numpy as np

import ember as torch
import ember.distributed as dist
from ember import nn

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True)
args = parser.parse_args()

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()


def build(seed):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 4))
    ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.0002)
    return ddp, torch.optim.SGD(ddp.parameters(), lr=0.05, momentum=0.9)


def train(ddp, opt, steps):
    for step in steps:
        data = np.random.default_rng(1000 * step + rank)
        x = torch.tensor(data.standard_normal((6, 8)).astype(np.float32))
        y = torch.tensor(data.standard_normal((6, 4)).astype(np.float32))
        opt.zero_grad()
        nn.functional.mse_loss(ddp(x), y).backward()
        opt.step()


def weights(ddp):
    return {k: v.detach().numpy().copy() for k, v in ddp.module.state_dict().items()}


straight, straight_opt = build(seed=rank)
train(straight, straight_opt, range(6))
want = weights(straight)

for via in ("module", "ddp"):
    ddp, opt = build(seed=rank)
    train(ddp, opt, range(3))
    path = os.path.join(args.out, f"checkpoint_{via}.pt")
    if rank == 0:
        model_state = ddp.module.state_dict() if via == "module" else ddp.state_dict()
        torch.save({"model": model_state, "optim": opt.state_dict()}, path)
    dist.barrier()
    resumed, resumed_opt = build(seed=100 + rank)  # other weights, and no momentum yet
    checkpoint = torch.load(path, map_location={"cuda:0": "cpu"})
    if via == "module":
        resumed.module.load_state_dict(checkpoint["model"])
    else:
        assert all(k.startswith("module.") for k in checkpoint["model"]), list(checkpoint["model"])
        resumed.load_state_dict(checkpoint["model"])
    resumed_opt.load_state_dict(checkpoint["optim"])
    train(resumed, resumed_opt, range(3, 6))
    got = weights(resumed)
    assert sorted(got) == sorted(want), (sorted(got), sorted(want))
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-6, atol=1e-7, err_msg=key)
    print(f"rank {rank}: resumed from the {via} checkpoint, weights match", flush=True)
dist.destroy_process_group()
