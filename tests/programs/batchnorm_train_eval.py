"""BatchNorm and Dropout switching between train and eval; running statistics."""

import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(10)
model = nn.Sequential(
    nn.Conv2d(3, 6, 3),
    nn.BatchNorm2d(6),
    nn.ReLU(),
    nn.Flatten(),
    nn.Dropout(0.0),
    nn.Linear(6 * 6 * 6, 2),
    nn.BatchNorm1d(2, momentum=None),
)
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32) * 0.3))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.5, nesterov=True)
for step in range(4):
    x = torch.from_numpy(rng.standard_normal((8, 3, 8, 8)).astype(np.float32))
    model.train()
    opt.zero_grad()
    loss = model(x).pow(2).mean()
    loss.backward()
    opt.step()
    print(f"RESULT step{step} {loss.item():.6f}")
bn = model[1]
print("RESULT running_mean", f"{bn.running_mean.sum().item():.6f}")
print("RESULT running_var", f"{bn.running_var.sum().item():.6f}")
print("RESULT batches", bn.num_batches_tracked.item())
print("RESULT cumulative_var", f"{model[6].running_var.sum().item():.6f}")
model.eval()
with torch.no_grad():
    out = model(torch.ones(2, 3, 8, 8))
print("RESULT eval_out", f"{out.sum().item():.6f}")
