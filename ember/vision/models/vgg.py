"""VGG-11 and VGG-16 with batch normalisation (Simonyan and Zisserman, 2015), torchvision's
module names."""

from ember import nn
from ember.vision.models._api import WeightsEnum, imagenet_weights, weights_builder
from ember.vision.models._init import init_conv_bn

CFGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
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


def _vgg(cfg, num_classes=1000, in_channels=3, small_input=False, **kwargs):
    features = make_layers(CFGS[cfg], True, in_channels, ceil_mode=small_input)
    return VGG(features, num_classes, small_input=small_input, **kwargs)


_URL = "https://download.pytorch.org/models/"
_VGG_RECIPE = (
    "https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg"
)


class VGG11_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        _URL + "vgg11_bn-6002323d.pth", num_params=132868840, acc1=70.37, acc5=89.81,
        gflops=7.609, file_size_mb=506.881, recipe=_VGG_RECIPE, min_size=(32, 32),
    )  # fmt: skip
    DEFAULT = IMAGENET1K_V1


class VGG16_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        _URL + "vgg16_bn-6c64b313.pth", num_params=138365992, acc1=73.36, acc5=91.516,
        gflops=15.47, file_size_mb=527.866, recipe=_VGG_RECIPE, min_size=(32, 32),
    )  # fmt: skip
    DEFAULT = IMAGENET1K_V1


@weights_builder(VGG11_BN_Weights, VGG11_BN_Weights.IMAGENET1K_V1)
def vgg11_bn(**kwargs):
    return _vgg("A", **kwargs)


@weights_builder(VGG16_BN_Weights, VGG16_BN_Weights.IMAGENET1K_V1)
def vgg16_bn(**kwargs):
    return _vgg("D", **kwargs)
