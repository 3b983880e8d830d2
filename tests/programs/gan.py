"""A small GAN on 2-D points: two networks, two optimizers, detach and BCE with logits."""

import numpy as np
import torch
import torch.nn as nn


def init(model, rng):
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32) * 0.3))


rng = np.random.default_rng(11)
G = nn.Sequential(nn.Linear(4, 16), nn.LeakyReLU(0.2), nn.Linear(16, 2))
D = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
init(G, rng)
init(D, rng)
opt_g = torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999))
opt_d = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
bce = nn.BCEWithLogitsLoss()
for step in range(20):
    real = torch.from_numpy(rng.standard_normal((32, 2)).astype(np.float32) * 0.5 + 2.0)
    z = torch.from_numpy(rng.standard_normal((32, 4)).astype(np.float32))
    fake = G(z)
    d_loss = bce(D(real), torch.ones(32, 1)) + bce(D(fake.detach()), torch.zeros(32, 1))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = bce(D(fake), torch.ones(32, 1))
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    if step % 5 == 4:
        print(f"RESULT step{step}_d {d_loss.item():.6f}")
        print(f"RESULT step{step}_g {g_loss.item():.6f}")
