"""A custom focal loss module and a gradient penalty with create_graph=True."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class FocalLoss(nn.Module):
    def __init__(self, gamma=2.0):
        super().__init__()
        self.gamma = gamma

    def forward(self, logits, target):
        logp = F.log_softmax(logits, dim=-1).gather(1, target.unsqueeze(1)).squeeze(1)
        p = logp.exp()
        return (-((1 - p) ** self.gamma) * logp).mean()


rng = np.random.default_rng(2)
model = nn.Sequential(nn.Linear(6, 12), nn.Tanh(), nn.Linear(12, 4))
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32) * 0.4))
x = torch.from_numpy(rng.standard_normal((40, 6)).astype(np.float32))
y = torch.from_numpy(rng.integers(0, 4, 40))
opt = torch.optim.SGD(model.parameters(), lr=0.2)
loss_fn = FocalLoss()
for step in range(6):
    opt.zero_grad()
    xg = x.clone().requires_grad_(True)
    loss = loss_fn(model(xg), y)
    (grad_x,) = torch.autograd.grad(loss, xg, create_graph=True)
    penalty = (grad_x.norm(2, dim=1) - 1).pow(2).mean()
    (loss + 0.1 * penalty).backward()
    opt.step()
    print(f"RESULT step{step}_loss {loss.item():.6f}")
    print(f"RESULT step{step}_penalty {penalty.item():.6f}")
