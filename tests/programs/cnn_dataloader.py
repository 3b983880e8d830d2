"""A CNN trained from a Dataset through a DataLoader with a transform in the dataset."""

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset


class Blobs(Dataset):
    """Synthetic 1x12x12 images whose class decides where a bright blob sits."""

    def __init__(self, n, seed, transform=None):
        rng = np.random.default_rng(seed)
        self.labels = rng.integers(0, 4, n)
        self.images = rng.standard_normal((n, 1, 12, 12)).astype(np.float32) * 0.3
        for i, c in enumerate(self.labels):
            r, q = divmod(int(c), 2)
            self.images[i, 0, r * 6 : r * 6 + 6, q * 6 : q * 6 + 6] += 1.0
        self.transform = transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        x = torch.from_numpy(self.images[i])
        if self.transform is not None:
            x = self.transform(x)
        return x, int(self.labels[i])


def normalize(x):
    return (x - 0.25) / 0.5


model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1),
    nn.ReLU(),
    nn.MaxPool2d(2),
    nn.Conv2d(8, 16, 3, padding=1),
    nn.ReLU(),
    nn.AdaptiveAvgPool2d(1),
    nn.Flatten(),
    nn.Linear(16, 4),
)
rng = np.random.default_rng(7)
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32) * 0.2))
train = DataLoader(Blobs(256, 0, normalize), batch_size=32, shuffle=False)
test = DataLoader(Blobs(64, 1, normalize), batch_size=64)
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
loss_fn = nn.CrossEntropyLoss()
for epoch in range(3):
    total = 0.0
    for x, y in train:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        total += loss.item() * len(y)
    print(f"RESULT epoch{epoch}_loss {total / 256:.6f}")
correct = 0
with torch.no_grad():
    for x, y in test:
        correct += (model(x).argmax(1) == y).sum().item()
print(f"RESULT test_correct {correct}")
