"""The autograd hook points DistributedDataParallel is built on, against PyTorch:
``register_post_accumulate_grad_hook`` and a callback queued to run at the end of backward."""

import numpy as np
import pytest

import ember
from ember.autograd import engine

torch = pytest.importorskip("torch")


def _trace(lib, queue_callback):
    w = lib.tensor(np.arange(3.0, dtype=np.float32), requires_grad=True)
    b = lib.tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    events, queued = [], [False]

    def at_end():
        events.append(("end", w.grad.tolist(), b.grad.tolist()))
        queued[0] = False

    def post(name):
        def hook(p):
            events.append((name, p.grad.tolist()))
            if not queued[0]:
                queued[0] = True
                queue_callback(at_end)

        return hook

    handles = [
        w.register_post_accumulate_grad_hook(post("w")),
        b.register_post_accumulate_grad_hook(post("b")),
    ]
    for _ in range(2):  # the second backward accumulates: hooks see the sums
        ((w * w).sum() + (b * w[:2]).sum()).backward()
    handles[1].remove()
    (w.sum() + b.sum()).backward()
    return events


def test_post_accumulate_hooks_and_final_callback_match_torch():
    want = _trace(torch, torch.autograd.Variable._execution_engine.queue_callback)
    got = _trace(ember, ember.autograd.Variable._execution_engine.queue_callback)
    # per backward: the leaves' hooks (in either order), then the callback
    assert len(got) == len(want) == 8
    for start, stop in ((0, 3), (3, 6), (6, 8)):
        assert sorted(got[start : stop - 1]) == sorted(want[start : stop - 1])
        assert got[stop - 1] == want[stop - 1] and got[stop - 1][0] == "end"


def test_hook_errors_match_torch():
    for lib in (torch, ember):
        with pytest.raises(RuntimeError, match="doesn't require gradient"):
            lib.ones(2).register_post_accumulate_grad_hook(lambda p: None)
        with pytest.raises(RuntimeError, match="non-leaf"):
            (lib.ones(2, requires_grad=True) * 2).register_post_accumulate_grad_hook(lambda p: 0)
    with pytest.raises(RuntimeError, match="only be installed during backward"):
        engine.queue_callback(lambda: None)
