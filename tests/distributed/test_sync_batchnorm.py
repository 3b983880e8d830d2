"""SyncBatchNorm on 2 ranks against PyTorch's BatchNorm2d on the whole batch."""

import pytest


def test_sync_batchnorm_matches_batchnorm_on_the_whole_batch(mpirun):
    pytest.importorskip("torch")
    proc = mpirun("sync_batchnorm_matches_torch.py", 2, timeout=120)
    assert proc.stdout.count("SyncBatchNorm matches BatchNorm2d") == 2


def test_sync_batchnorm_is_batchnorm_in_one_process():
    import numpy as np

    import ember as torch

    bn = torch.nn.SyncBatchNorm(3)
    ref = torch.nn.BatchNorm2d(3)
    x = torch.randn(4, 3, 2, 2)
    np.testing.assert_allclose(bn(x).detach().numpy(), ref(x).detach().numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="expected at least 2D input"):
        bn(torch.randn(3))
