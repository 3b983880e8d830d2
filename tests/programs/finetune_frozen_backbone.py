"""Fine-tuning a new head on a frozen backbone."""

import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(4)
backbone = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU())
with torch.no_grad():
    for p in backbone.parameters():
        p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32) * 0.3))
before = [p.detach().clone() for p in backbone.parameters()]
for p in backbone.parameters():
    p.requires_grad_(False)
head = nn.Linear(16, 2)
with torch.no_grad():
    head.weight.copy_(torch.from_numpy(rng.standard_normal((2, 16)).astype(np.float32) * 0.1))
    head.bias.zero_()
model = nn.Sequential(backbone, head)
trainable = [p for p in model.parameters() if p.requires_grad]
print("RESULT trainable_tensors", len(trainable))
print("RESULT trainable_numel", sum(p.numel() for p in trainable))
opt = torch.optim.SGD(trainable, lr=0.1)
x = torch.from_numpy(rng.standard_normal((64, 10)).astype(np.float32))
y = torch.from_numpy((rng.standard_normal(64) > 0).astype(np.int64))
for _ in range(10):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
print(f"RESULT final_loss {loss.item():.6f}")
unchanged = all(torch.equal(a, b) for a, b in zip(before, backbone.parameters()))
print("RESULT backbone_unchanged", int(unchanged))
print("RESULT backbone_grads_none", int(all(p.grad is None for p in backbone.parameters())))
