"""VGG-11/13/16/19, with and without batch normalisation (Simonyan and Zisserman, 2015),
torchvision's module names."""

import functools

from ember import nn
from ember.vision.models._api import (
    Weights,
    WeightsEnum,
    imagenet_weights,
    weights_builder,
)
from ember.vision.models._init import init_conv_bn

CFGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        512,
        "M",
    ],
}


def make_layers(cfg, batch_norm, in_channels=3, ceil_mode=False):
    layers = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=ceil_mode))
            continue
        layers.append(nn.Conv2d(in_channels, v, 3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(v))
        layers.append(nn.ReLU(inplace=True))
        in_channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """``small_input=True`` (28x28 or 32x32 images): the pools round up (so 28x28 reaches
    1x1), the average pool gives 1x1 and the classifier's hidden layers have 512 units; the
    module names and ``state_dict`` keys stay torchvision's, the classifier shapes change."""

    def __init__(self, features, num_classes=1000, init_weights=True, dropout=0.5,
                 small_input=False):  # fmt: skip
        super().__init__()
        self.features = features
        side, hidden = (1, 512) if small_input else (7, 4096)
        self.avgpool = nn.AdaptiveAvgPool2d((side, side))
        self.classifier = nn.Sequential(
            nn.Linear(512 * side * side, hidden),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(hidden, num_classes),
        )
        if init_weights:
            init_conv_bn(self, linear_std=0.01)

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def _vgg(cfg, batch_norm, num_classes=1000, in_channels=3, small_input=False, **kwargs):
    features = make_layers(CFGS[cfg], batch_norm, in_channels, ceil_mode=small_input)
    return VGG(features, num_classes, small_input=small_input, **kwargs)


_URL = "https://download.pytorch.org/models/"
_VGG_RECIPE = (
    "https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg"
)


def _vgg_weights(file_name, num_params, acc1, acc5, gflops, file_size_mb):
    return imagenet_weights(
        _URL + file_name, num_params=num_params, acc1=acc1, acc5=acc5, gflops=gflops,
        file_size_mb=file_size_mb, recipe=_VGG_RECIPE, min_size=(32, 32),
    )  # fmt: skip


class VGG11_Weights(WeightsEnum):
    IMAGENET1K_V1 = _vgg_weights("vgg11-8a719046.pth", 132863336, 69.02, 88.628, 7.609, 506.84)
    DEFAULT = IMAGENET1K_V1


class VGG11_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = _vgg_weights("vgg11_bn-6002323d.pth", 132868840, 70.37, 89.81, 7.609, 506.881)
    DEFAULT = IMAGENET1K_V1


class VGG13_Weights(WeightsEnum):
    IMAGENET1K_V1 = _vgg_weights("vgg13-19584684.pth", 133047848, 69.928, 89.246, 11.308, 507.545)
    DEFAULT = IMAGENET1K_V1


class VGG13_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = _vgg_weights("vgg13_bn-abd245e5.pth", 133053736, 71.586, 90.374, 11.308, 507.59)
    DEFAULT = IMAGENET1K_V1


def _vgg16_features_weights():
    """The features-only port of the original Caffe VGG-16 (no classifier categories); its
    inputs are 0-255 images with the mean subtracted."""
    from ember.vision.transforms._presets import ImageClassification

    return Weights(
        url=_URL + "vgg16_features-amdegroot-88682ab5.pth",
        transforms=functools.partial(
            ImageClassification,
            crop_size=224,
            mean=(0.48235, 0.45882, 0.40784),
            std=(1.0 / 255.0, 1.0 / 255.0, 1.0 / 255.0),
        ),  # fmt: skip
        meta={
            "min_size": (32, 32),
            "categories": None,
            "num_params": 138357544,
            "recipe": "https://github.com/amdegroot/ssd.pytorch#training-ssd",
            "_metrics": {"ImageNet-1K": {"acc@1": float("nan"), "acc@5": float("nan")}},
            "_ops": 15.47,
            "_file_size": 527.802,
        },
    )


class VGG16_Weights(WeightsEnum):
    IMAGENET1K_V1 = _vgg_weights("vgg16-397923af.pth", 138357544, 71.592, 90.382, 15.47, 527.796)
    IMAGENET1K_FEATURES = _vgg16_features_weights()
    DEFAULT = IMAGENET1K_V1


class VGG16_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = _vgg_weights("vgg16_bn-6c64b313.pth", 138365992, 73.36, 91.516, 15.47, 527.866)
    DEFAULT = IMAGENET1K_V1


class VGG19_Weights(WeightsEnum):
    IMAGENET1K_V1 = _vgg_weights("vgg19-dcbb9e9d.pth", 143667240, 72.376, 90.876, 19.632, 548.051)
    DEFAULT = IMAGENET1K_V1


class VGG19_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = _vgg_weights(
        "vgg19_bn-c79401a0.pth", 143678248, 74.218, 91.842, 19.632, 548.143
    )
    DEFAULT = IMAGENET1K_V1


@weights_builder(VGG11_Weights, VGG11_Weights.IMAGENET1K_V1)
def vgg11(**kwargs):
    return _vgg("A", False, **kwargs)


@weights_builder(VGG11_BN_Weights, VGG11_BN_Weights.IMAGENET1K_V1)
def vgg11_bn(**kwargs):
    return _vgg("A", True, **kwargs)


@weights_builder(VGG13_Weights, VGG13_Weights.IMAGENET1K_V1)
def vgg13(**kwargs):
    return _vgg("B", False, **kwargs)


@weights_builder(VGG13_BN_Weights, VGG13_BN_Weights.IMAGENET1K_V1)
def vgg13_bn(**kwargs):
    return _vgg("B", True, **kwargs)


@weights_builder(VGG16_Weights, VGG16_Weights.IMAGENET1K_V1)
def vgg16(**kwargs):
    return _vgg("D", False, **kwargs)


@weights_builder(VGG16_BN_Weights, VGG16_BN_Weights.IMAGENET1K_V1)
def vgg16_bn(**kwargs):
    return _vgg("D", True, **kwargs)


@weights_builder(VGG19_Weights, VGG19_Weights.IMAGENET1K_V1)
def vgg19(**kwargs):
    return _vgg("E", False, **kwargs)


@weights_builder(VGG19_BN_Weights, VGG19_BN_Weights.IMAGENET1K_V1)
def vgg19_bn(**kwargs):
    return _vgg("E", True, **kwargs)
