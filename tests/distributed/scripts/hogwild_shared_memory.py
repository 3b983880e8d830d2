"""Hogwild: child processes update one model whose parameters live in shared memory.

Each of two children (Python's multiprocessing, spawn start method) adds its rank + 1 to every
parameter; the parent must then see both updates, since no data is copied back."""

import numpy as np

import ember as torch
import ember.multiprocessing as mp
from ember import nn


def train(rank, model, queue):
    assert all(p.is_shared() for p in model.parameters())
    with torch.no_grad():
        for p in model.parameters():
            p.add_(rank + 1)
    queue.put(rank)


if __name__ == "__main__":
    model = nn.Linear(3, 2)
    before = [p.detach().numpy().copy() for p in model.parameters()]
    assert not model.weight.is_shared()
    model.share_memory()  # as pytorch/examples' mnist_hogwild does
    assert all(p.is_shared() for p in model.parameters())
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=train, args=(r, model, queue)) for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0], [p.exitcode for p in procs]
    assert sorted(queue.get(timeout=5) for _ in procs) == [0, 1]
    for p, b in zip(model.parameters(), before):
        np.testing.assert_allclose(p.detach().numpy(), b + 3, rtol=1e-6)
    print("hogwild: the parent sees both children's updates")
