"""The 3-D pooling layers against PyTorch's: outputs, input gradients, indices, repr."""

import numpy as np
import pytest
import torch

import ember

X = np.random.default_rng(0).standard_normal((2, 3, 6, 7, 8))

CASES = [
    ("MaxPool3d", (2,), {}),
    ("MaxPool3d", (3,), dict(stride=2, padding=1, dilation=1, ceil_mode=True)),
    ("AvgPool3d", (2,), {}),
    ("AvgPool3d", ((2, 3, 2),), dict(stride=(1, 2, 2), padding=1, count_include_pad=False)),
    ("AdaptiveAvgPool3d", ((2, 3, 4),), {}),
    ("AdaptiveMaxPool3d", ((3, 2, 4),), {}),
]


@pytest.mark.parametrize("name,args,kwargs", CASES)
def test_layer_matches_torch(name, args, kwargs):
    ours, theirs = (
        getattr(ember.nn, name)(*args, **kwargs),
        getattr(torch.nn, name)(*args, **kwargs),
    )
    xe, xt = ember.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    ye, yt = ours(xe), theirs(xt)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-12)
    w = np.random.default_rng(1).standard_normal(tuple(yt.shape))
    (ye * ember.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    assert repr(ours) == repr(theirs)


def test_max_pool_indices_round_trip_through_unpool():
    pool_e, pool_t = (
        ember.nn.MaxPool3d(2, return_indices=True),
        torch.nn.MaxPool3d(2, return_indices=True),
    )
    (ye, ie), (yt, it) = pool_e(ember.tensor(X)), pool_t(torch.tensor(X))
    assert ie.tolist() == it.tolist()
    ue = ember.nn.MaxUnpool3d(2)(ye, ie, output_size=X.shape)
    ut = torch.nn.MaxUnpool3d(2)(yt, it, output_size=X.shape)
    np.testing.assert_array_equal(ue.numpy(), ut.numpy())
    assert repr(ember.nn.MaxUnpool3d(2)) == repr(torch.nn.MaxUnpool3d(2))
