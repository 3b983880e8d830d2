"""``Module.train(mode)`` reaches every submodule through that submodule's own ``train``, as in
PyTorch, so a subclass overriding it (a batch norm kept frozen) is respected."""

import torch

import ember


def _net(lib):
    class FrozenBatchNorm(lib.nn.BatchNorm1d):
        def train(self, mode=True):
            return super().train(False)

    inner = lib.nn.Sequential(lib.nn.Linear(2, 2), FrozenBatchNorm(2))
    return lib.nn.Sequential(inner, lib.nn.Dropout(0.5))


def test_train_calls_each_childs_train():
    ours, theirs = _net(ember), _net(torch)
    for mode in (False, True, False, True):
        ours.train(mode)
        theirs.train(mode)
        assert [m.training for m in ours.modules()] == [m.training for m in theirs.modules()]
    assert [m.training for m in ours.modules()] == [True, True, True, False, True]
    ours.eval()
    assert not any(m.training for m in ours.modules())
