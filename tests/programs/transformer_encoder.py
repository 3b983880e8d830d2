"""A Transformer encoder classifier with sinusoidal positions, padding and causal masks."""

import math

import numpy as np
import torch
import torch.nn as nn


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=64):
        super().__init__()
        pos = torch.arange(max_len).unsqueeze(1)
        div = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        self.register_buffer("pe", pe)

    def forward(self, x):
        return x + self.pe[: x.size(1)]


class Classifier(nn.Module):
    def __init__(self, vocab=50, d=32, heads=4, classes=3):
        super().__init__()
        self.embed = nn.Embedding(vocab, d, padding_idx=0)
        self.pos = PositionalEncoding(d)
        layer = nn.TransformerEncoderLayer(d, heads, 64, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(d, classes)

    def forward(self, tokens):
        pad = tokens == 0
        causal = nn.Transformer.generate_square_subsequent_mask(tokens.size(1))
        h = self.encoder(self.pos(self.embed(tokens)), mask=causal, src_key_padding_mask=pad)
        keep = (~pad).unsqueeze(-1).float()
        return self.head((h * keep).sum(1) / keep.sum(1))


rng = np.random.default_rng(5)
tokens = rng.integers(1, 50, (64, 12))
for i in range(64):
    tokens[i, rng.integers(6, 12) :] = 0
labels = torch.from_numpy(tokens[:, 0] % 3)
tokens = torch.from_numpy(tokens)
model = Classifier()
with torch.no_grad():
    for name, p in model.named_parameters():
        p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32) * 0.1))
        if name.endswith("norm1.weight") or name.endswith("norm2.weight"):
            p.fill_(1.0)
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
for step in range(8):
    opt.zero_grad()
    loss = nn.functional.cross_entropy(model(tokens), labels)
    loss.backward()
    opt.step()
    print(f"RESULT step{step}_loss {loss.item():.6f}")
