"""A DataParallel-wrapped model trained on one device (it runs the module as is)."""

import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(8)
net = nn.Sequential(nn.Linear(6, 10), nn.ReLU(), nn.Linear(10, 3))
with torch.no_grad():
    for p in net.parameters():
        p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32) * 0.3))
model = nn.DataParallel(net)
opt = torch.optim.SGD(model.parameters(), lr=0.05)
x = torch.from_numpy(rng.standard_normal((30, 6)).astype(np.float32))
y = torch.from_numpy(rng.integers(0, 3, 30))
for step in range(5):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    print(f"RESULT step{step} {loss.item():.6f}")
print("RESULT keys", ",".join(model.state_dict().keys()))
print("RESULT inner_keys", ",".join(model.module.state_dict().keys()))
