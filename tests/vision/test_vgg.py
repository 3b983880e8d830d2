"""The VGG builders: torchvision's names, parameter counts and weights enums, and outputs that
match the same network built in plain torch."""

import numpy as np
import pytest
import torch
from torch import nn

import ember
from ember.vision import models

CONFIGS = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
         512, 512, 512, 512, "M"],
}  # fmt: skip
NAMES = [f"vgg{depth}{bn}" for depth in CONFIGS for bn in ("", "_bn")]


def torch_vgg(depth, batch_norm, num_classes):
    """VGG as the paper describes it, with torchvision's module layout."""
    layers, cin = [], 3
    for v in CONFIGS[depth]:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
            continue
        layers += [nn.Conv2d(cin, v, 3, padding=1)]
        layers += [nn.BatchNorm2d(v)] if batch_norm else []
        layers += [nn.ReLU()]
        cin = v
    model = nn.Module()
    model.features = nn.Sequential(*layers)
    model.avgpool = nn.AdaptiveAvgPool2d(7)
    model.classifier = nn.Sequential(
        nn.Linear(512 * 49, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(),
        nn.Dropout(), nn.Linear(4096, num_classes),
    )  # fmt: skip
    return model


def weights_enum(name):
    return getattr(models, name.upper() + "_Weights")


@pytest.mark.parametrize("name", NAMES)
def test_builders_have_torchvision_state_dict_and_counts(name):
    depth, batch_norm = int(name[3:5]), name.endswith("_bn")
    ours = getattr(models, name)(num_classes=7, init_weights=False).state_dict()
    theirs = torch_vgg(depth, batch_norm, 7).state_dict()
    assert [(k, tuple(v.shape)) for k, v in ours.items()] == [
        (k, tuple(v.shape)) for k, v in theirs.items()
    ]
    full = sum(p.numel() for p in getattr(models, name)(init_weights=False).parameters())
    enum = weights_enum(name)
    assert enum.DEFAULT is enum.IMAGENET1K_V1
    assert enum.IMAGENET1K_V1.meta["num_params"] == full
    assert enum.IMAGENET1K_V1.url.rsplit("/", 1)[1].startswith(name + "-")


def test_vgg11_forward_matches_torch():
    ours = models.vgg11(num_classes=5).eval()
    theirs = torch_vgg(11, False, 5).eval()
    theirs.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in ours.state_dict().items()})
    x = np.random.default_rng(0).random((1, 3, 32, 32), np.float32)
    with torch.no_grad():
        expected = theirs.classifier(
            torch.flatten(theirs.avgpool(theirs.features(torch.tensor(x))), 1)
        )
    np.testing.assert_allclose(
        ours(ember.tensor(x)).detach().numpy(), expected.numpy(), rtol=1e-4, atol=1e-6
    )


def test_pretrained_weights_are_not_downloaded(tmp_path):
    before = ember.hub.get_dir()
    ember.hub.set_dir(tmp_path)
    try:
        with pytest.raises(RuntimeError, match="vgg16-397923af.pth.*does not download"):
            models.vgg16(weights=models.VGG16_Weights.DEFAULT)
        with pytest.raises(RuntimeError, match="vgg16_features"):
            models.vgg16(weights="IMAGENET1K_FEATURES")
    finally:
        ember.hub.set_dir(before)
    with pytest.raises(ValueError, match="VGG19_BN_Weights has no weights named 'V9'"):
        models.vgg19_bn(weights="V9")
    features = models.VGG16_Weights.IMAGENET1K_FEATURES
    assert features.meta["categories"] is None and callable(features.transforms)
