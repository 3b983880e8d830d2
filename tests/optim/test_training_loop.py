"""A whole training loop (autograd, gradient clipping, optimizer, scheduler) against PyTorch."""

import numpy as np
import pytest
import torch

import ember


@pytest.mark.parametrize("opt_name", ["SGD", "AdamW"])
def test_regression_loop_matches_torch(opt_name):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 4), dtype=np.float32)
    y = rng.standard_normal((16, 3), dtype=np.float32)
    w0 = rng.standard_normal((4, 3), dtype=np.float32)
    b0 = np.zeros(3, np.float32)

    def run(lib):
        w = lib.tensor(w0.copy(), requires_grad=True)
        b = lib.tensor(b0.copy(), requires_grad=True)
        kwargs = dict(lr=0.1, momentum=0.9) if opt_name == "SGD" else dict(lr=0.05)
        opt = getattr(lib.optim, opt_name)([w, b], **kwargs)
        sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
        xs, ys = lib.tensor(x), lib.tensor(y)
        history = []
        for _ in range(10):
            opt.zero_grad()
            loss = ((xs @ w + b - ys) ** 2).mean()
            loss.backward()
            norm = lib.nn.utils.clip_grad_norm_([w, b], max_norm=0.5)
            opt.step()
            sched.step()
            history.append((loss.item(), float(norm), w.detach().numpy().copy()))
        return history

    for (l1, n1, w1), (l2, n2, w2) in zip(run(ember), run(torch)):
        assert l1 == pytest.approx(l2, rel=1e-5)
        assert n1 == pytest.approx(n2, rel=1e-5)
        np.testing.assert_allclose(w1, w2, rtol=1e-5, atol=1e-6)
