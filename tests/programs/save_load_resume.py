"""Save model and optimizer state mid-training, load into fresh objects, resume."""

import os
import tempfile

import numpy as np
import torch
import torch.nn as nn


def make(rng_seed):
    rng = np.random.default_rng(rng_seed)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 1))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32) * 0.5))
    return model, torch.optim.Adam(model.parameters(), lr=1e-2)


rng = np.random.default_rng(9)
x = torch.from_numpy(rng.standard_normal((32, 5)).astype(np.float32))
y = torch.from_numpy(rng.standard_normal((32, 1)).astype(np.float32))


def train(model, opt, steps):
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    return loss.item()


model, opt = make(0)
train(model, opt, 10)
uninterrupted = train(model, opt, 10)

model, opt = make(0)
train(model, opt, 10)
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "ckpt.pt")
    torch.save({"model": model.state_dict(), "optim": opt.state_dict(), "step": 10}, path)
    ckpt = torch.load(path)
model2, opt2 = make(1)
model2.load_state_dict(ckpt["model"])
opt2.load_state_dict(ckpt["optim"])
resumed = train(model2, opt2, 10)
print(f"RESULT uninterrupted {uninterrupted:.6f}")
print(f"RESULT resumed {resumed:.6f}")
print("RESULT step", ckpt["step"])
print("RESULT keys", ",".join(ckpt["model"].keys()))
