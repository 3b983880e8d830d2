"""A classifier with the full training loop and evaluation."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(0)
X = rng.standard_normal((512, 20)).astype(np.float32)
w_true = rng.standard_normal((20, 3)).astype(np.float32)
y = (X @ w_true).argmax(1)
X_train, y_train = torch.from_numpy(X[:400]), torch.from_numpy(y[:400])
X_test, y_test = torch.from_numpy(X[400:]), torch.from_numpy(y[400:])


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 64)
        self.fc2 = nn.Linear(64, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


model = Net()
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32) * 0.1))
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for epoch in range(5):
    model.train()
    for i in range(0, 400, 50):
        opt.zero_grad()
        loss = F.cross_entropy(model(X_train[i : i + 50]), y_train[i : i + 50])
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        logits = model(X_test)
        acc = (logits.argmax(dim=1) == y_test).float().mean().item()
    print(f"RESULT epoch{epoch}_loss {loss.item():.6f}")
    print(f"RESULT epoch{epoch}_acc {acc:.6f}")
