"""Models: torchvision's state_dict keys and shapes, parameter counts from torchvision's
documentation, and outputs equal to the same architecture in PyTorch."""

import numpy as np
import pytest
import torch

import ember
from ember.vision import models

from . import torch_reference as ref

A = [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]
D = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]

# Parameter counts published in torchvision's model documentation (ImageNet, 1000 classes).
DOCUMENTED_PARAMS = {
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "vgg11_bn": 132_868_840,
    "vgg16_bn": 138_365_992,
    "mobilenet_v2": 3_504_872,
}

BN = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]


def bn(prefix):
    return [f"{prefix}.{k}" for k in BN]


def resnet18_keys():
    """Written from torchvision's ResNet description: stem, 4 layers of 2 BasicBlocks, fc."""
    keys = ["conv1.weight", *bn("bn1")]
    for layer in range(1, 5):
        for block in range(2):
            p = f"layer{layer}.{block}"
            keys += [f"{p}.conv1.weight", *bn(f"{p}.bn1"), f"{p}.conv2.weight", *bn(f"{p}.bn2")]
            if layer > 1 and block == 0:
                keys += [f"{p}.downsample.0.weight", *bn(f"{p}.downsample.1")]
    return keys + ["fc.weight", "fc.bias"]


def mobilenet_v2_keys():
    keys = ["features.0.0.weight", *bn("features.0.1")]
    keys += ["features.1.conv.0.0.weight", *bn("features.1.conv.0.1")]
    keys += ["features.1.conv.1.weight", *bn("features.1.conv.2")]
    for i in range(2, 18):
        p = f"features.{i}.conv"
        keys += [f"{p}.0.0.weight", *bn(f"{p}.0.1"), f"{p}.1.0.weight", *bn(f"{p}.1.1")]
        keys += [f"{p}.2.weight", *bn(f"{p}.3")]
    keys += ["features.18.0.weight", *bn("features.18.1")]
    return keys + ["classifier.1.weight", "classifier.1.bias"]


def vgg_keys(cfg):
    keys, i = [], 0
    for v in cfg:
        if v == "M":
            i += 1
            continue
        keys += [f"features.{i}.weight", f"features.{i}.bias", *bn(f"features.{i + 1}")]
        i += 3
    return keys + [f"classifier.{j}.{w}" for j in (0, 3, 6) for w in ("weight", "bias")]


def shapes(state):
    return [(k, tuple(v.shape)) for k, v in state.items()]


def test_written_key_lists():
    assert list(models.resnet18().state_dict()) == resnet18_keys()
    assert list(models.mobilenet_v2().state_dict()) == mobilenet_v2_keys()
    assert list(models.vgg11_bn(init_weights=False).state_dict()) == vgg_keys(A)
    assert list(models.vgg16_bn(init_weights=False).state_dict()) == vgg_keys(D)


@pytest.mark.parametrize("name", sorted(DOCUMENTED_PARAMS))
def test_documented_parameter_counts(name):
    kwargs = {"init_weights": False} if name.startswith("vgg") else {}
    model = getattr(models, name)(**kwargs)
    assert sum(p.numel() for p in model.parameters()) == DOCUMENTED_PARAMS[name]


TORCH_BUILDERS = {
    "resnet18": lambda nc, s: ref.ResNet([2, 2, 2, 2], False, nc, small_input=s),
    "resnet34": lambda nc, s: ref.ResNet([3, 4, 6, 3], False, nc, small_input=s),
    "resnet50": lambda nc, s: ref.ResNet([3, 4, 6, 3], True, nc, small_input=s),
    "vgg11_bn": lambda nc, s: ref.vgg(A, nc, s),
    "mobilenet_v2": lambda nc, s: ref.MobileNetV2(nc, s),
}


@pytest.mark.parametrize("small", [False, True])
@pytest.mark.parametrize("name", sorted(TORCH_BUILDERS))
def test_state_dict_matches_torch_architecture(name, small):
    ours = getattr(models, name)(num_classes=7, small_input=small)
    theirs = TORCH_BUILDERS[name](7, small)
    assert shapes(ours.state_dict()) == shapes(theirs.state_dict())


def test_vgg16_bn_state_dict_matches_torch():
    ours = models.vgg16_bn(num_classes=5, init_weights=False)
    assert shapes(ours.state_dict()) == shapes(ref.vgg(D, 5).state_dict())


def transfer(ours, theirs):
    """Copy ember's weights into the torch model, perturbing BatchNorm statistics so that
    eval-mode outputs depend on them."""
    rng = np.random.default_rng(0)
    state = {}
    for k, v in ours.state_dict().items():
        a = v.numpy().copy()
        if k.endswith("running_var"):
            a = rng.uniform(0.5, 1.5, a.shape).astype(a.dtype)
        elif k.endswith("running_mean"):
            a = rng.normal(0, 0.1, a.shape).astype(a.dtype)
        state[k] = a
    ours.load_state_dict({k: ember.from_numpy(v) for k, v in state.items()})
    theirs.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})


@pytest.mark.parametrize(
    "name, small, size",
    [
        ("resnet18", True, 28),
        ("resnet50", False, 64),
        ("mobilenet_v2", True, 32),
        ("vgg11_bn", True, 28),
    ],  # fmt: skip
)
def test_outputs_match_torch(name, small, size):
    ember.manual_seed(0)
    ours = getattr(models, name)(num_classes=10, small_input=small).eval()
    theirs = TORCH_BUILDERS[name](10, small).eval()
    transfer(ours, theirs)
    x = np.random.default_rng(1).standard_normal((2, 3, size, size)).astype(np.float32)
    with ember.no_grad():
        got = ours(ember.from_numpy(x)).numpy()
    with torch.no_grad():
        want = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4 * np.abs(want).max())


def test_lenet5_and_simple_cnn_shapes_and_grad():
    for size in (28, 32):
        net = models.LeNet5(num_classes=10, image_size=size)
        out = net(ember.randn(3, 1, size, size))
        assert tuple(out.shape) == (3, 10)
    assert [k for k in net.state_dict()] == [
        "features.0.weight", "features.0.bias", "features.3.weight", "features.3.bias",
        "classifier.1.weight", "classifier.1.bias", "classifier.3.weight", "classifier.3.bias",
        "classifier.5.weight", "classifier.5.bias",
    ]  # fmt: skip
    cnn = models.SimpleCNN(num_classes=10, in_channels=1, image_size=8)
    cnn(ember.randn(4, 1, 8, 8)).sum().backward()
    assert all(p.grad is not None for p in cnn.parameters())
    with pytest.raises(ValueError, match="image_size must be 28 or 32"):
        models.LeNet5(image_size=20)


def test_in_channels_changes_only_the_stem():
    ours = models.resnet18(num_classes=10, in_channels=1, small_input=True)
    assert tuple(ours.conv1.weight.shape) == (64, 1, 3, 3)
    assert tuple(ours(ember.randn(2, 1, 28, 28)).shape) == (2, 10)
