"""nn.utils.fusion: the fused layer gives the eval-mode conv/linear + batch norm's outputs."""

import numpy as np
import pytest
import torch

import ember


def _bn_state(bn, seed):
    rng = np.random.default_rng(seed)
    n = bn.num_features
    bn.running_mean.copy_(ember.tensor(rng.standard_normal(n).astype(np.float32)))
    bn.running_var.copy_(ember.tensor(rng.uniform(0.5, 2, n).astype(np.float32)))
    with ember.no_grad():
        bn.weight.copy_(ember.tensor(rng.standard_normal(n).astype(np.float32)))
        bn.bias.copy_(ember.tensor(rng.standard_normal(n).astype(np.float32)))


@pytest.mark.parametrize("transpose,bias", [(False, True), (False, False), (True, True)])
def test_conv_bn(transpose, bias):
    ember.manual_seed(0)
    conv_cls = ember.nn.ConvTranspose2d if transpose else ember.nn.Conv2d
    conv, bn = conv_cls(3, 5, 3, bias=bias).eval(), ember.nn.BatchNorm2d(5).eval()
    _bn_state(bn, 1)
    x = ember.randn(2, 3, 8, 8)
    fused = ember.nn.utils.fusion.fuse_conv_bn_eval(conv, bn, transpose=transpose)
    np.testing.assert_allclose(fused(x).detach().numpy(), bn(conv(x)).detach().numpy(), atol=1e-5)
    assert isinstance(fused.weight, ember.nn.Parameter) and fused is not conv
    # against PyTorch's fusion of the same weights
    tconv = (torch.nn.ConvTranspose2d if transpose else torch.nn.Conv2d)(3, 5, 3, bias=bias)
    tbn = torch.nn.BatchNorm2d(5)
    tconv.load_state_dict({k: torch.tensor(v.numpy()) for k, v in conv.state_dict().items()})
    tbn.load_state_dict({k: torch.tensor(v.numpy()) for k, v in bn.state_dict().items()})
    tfused = torch.nn.utils.fusion.fuse_conv_bn_eval(tconv.eval(), tbn.eval(), transpose=transpose)
    np.testing.assert_allclose(
        fused.weight.detach().numpy(), tfused.weight.detach().numpy(), rtol=1e-6
    )
    np.testing.assert_allclose(fused.bias.detach().numpy(), tfused.bias.detach().numpy(), rtol=1e-6)


def test_linear_bn():
    ember.manual_seed(0)
    linear, bn = ember.nn.Linear(4, 6).eval(), ember.nn.BatchNorm1d(6).eval()
    _bn_state(bn, 2)
    x = ember.randn(3, 4)
    fused = ember.nn.utils.fusion.fuse_linear_bn_eval(linear, bn)
    np.testing.assert_allclose(fused(x).detach().numpy(), bn(linear(x)).detach().numpy(), atol=1e-5)


def test_training_mode_or_mismatch_is_refused():
    conv, bn = ember.nn.Conv2d(3, 5, 3), ember.nn.BatchNorm2d(5)
    with pytest.raises(AssertionError, match="eval"):
        ember.nn.utils.fusion.fuse_conv_bn_eval(conv, bn)
    with pytest.raises(AssertionError, match="out_features"):
        ember.nn.utils.fusion.fuse_linear_bn_eval(
            ember.nn.Linear(2, 3).eval(), ember.nn.BatchNorm1d(4).eval()
        )
