"""Gradient accumulation over micro-batches with norm and value clipping."""

import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(6)
model = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 1))
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
opt = torch.optim.RMSprop(model.parameters(), lr=1e-2)
x = torch.from_numpy(rng.standard_normal((64, 8)).astype(np.float32))
y = torch.from_numpy(rng.standard_normal((64, 1)).astype(np.float32))
accum = 4
for step in range(5):
    opt.zero_grad()
    for k in range(accum):
        xb, yb = x[k * 16 : (k + 1) * 16], y[k * 16 : (k + 1) * 16]
        loss = nn.functional.smooth_l1_loss(model(xb), yb) / accum
        loss.backward()
    norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
    nn.utils.clip_grad_value_(model.parameters(), 0.1)
    opt.step()
    print(f"RESULT step{step}_norm {norm.item():.6f}")
    print(f"RESULT step{step}_loss {loss.item() * accum:.6f}")
