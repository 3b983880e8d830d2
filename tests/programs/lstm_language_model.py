"""A character-level LSTM language model with gradient clipping."""

import numpy as np
import torch
import torch.nn as nn

text = "the quick brown fox jumps over the lazy dog " * 8
vocab = sorted(set(text))
ids = torch.tensor([vocab.index(c) for c in text])


class LM(nn.Module):
    def __init__(self, v, d=16, h=32):
        super().__init__()
        self.embed = nn.Embedding(v, d)
        self.lstm = nn.LSTM(d, h, num_layers=2, batch_first=True)
        self.out = nn.Linear(h, v)

    def forward(self, x, state=None):
        y, state = self.lstm(self.embed(x), state)
        return self.out(y), state


model = LM(len(vocab))
rng = np.random.default_rng(3)
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.uniform(-0.2, 0.2, tuple(p.shape)).astype(np.float32)))
opt = torch.optim.Adam(model.parameters(), lr=5e-3)
seq = 32
starts = list(range(0, len(ids) - seq - 1, seq))
for epoch in range(3):
    total = 0.0
    for s in starts:
        x = ids[s : s + seq].unsqueeze(0)
        y = ids[s + 1 : s + seq + 1].unsqueeze(0)
        logits, _ = model(x)
        loss = nn.functional.cross_entropy(logits.reshape(-1, len(vocab)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        total += loss.item()
    print(f"RESULT epoch{epoch}_loss {total / len(starts):.6f}")
with torch.no_grad():
    state = None
    x = ids[:1].unsqueeze(0)
    out = []
    for _ in range(10):
        logits, state = model(x, state)
        x = logits[:, -1].argmax(-1, keepdim=True)
        out.append(vocab[x.item()])
print("RESULT sample", repr("".join(out)).replace(" ", "_"))
