"""GradScaler against torch's on a real optimizer step."""

import numpy as np
import torch

import ember


def test_enabled_grad_scaler_matches_torch_on_an_sgd_step():
    w0 = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    results = []
    for lib in (torch, ember):
        w = lib.tensor(w0.copy(), requires_grad=True)
        opt = lib.optim.SGD([w], lr=0.1)
        scaler = lib.amp.GradScaler("cpu", init_scale=1024.0)
        loss = (w * w).sum()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        results.append((w.detach().numpy().copy(), scaler.get_scale()))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-6)
    assert results[1][1] == results[0][1]
