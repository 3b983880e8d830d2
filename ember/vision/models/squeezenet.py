"""SqueezeNet 1.0 and 1.1 (Iandola et al., 2016), torchvision's module names."""

from ember import cat, nn
from ember.vision.models._api import WeightsEnum, imagenet_weights, weights_builder


class Fire(nn.Module):
    """Squeeze to ``squeeze_planes`` channels, then expand with 1x1 and 3x3 convolutions side
    by side."""

    def __init__(self, inplanes, squeeze_planes, expand1x1_planes, expand3x3_planes):
        super().__init__()
        self.inplanes = inplanes
        self.squeeze = nn.Conv2d(inplanes, squeeze_planes, 1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze_planes, expand1x1_planes, 1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze_planes, expand3x3_planes, 3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x):
        x = self.squeeze_activation(self.squeeze(x))
        return cat(
            [self.expand1x1_activation(self.expand1x1(x)),
             self.expand3x3_activation(self.expand3x3(x))], 1,
        )  # fmt: skip


def _pool():
    return nn.MaxPool2d(3, stride=2, ceil_mode=True)


class SqueezeNet(nn.Module):
    def __init__(self, version="1_0", num_classes=1000, dropout=0.5):
        super().__init__()
        self.num_classes = num_classes
        if version == "1_0":
            self.features = nn.Sequential(
                nn.Conv2d(3, 96, 7, stride=2), nn.ReLU(inplace=True), _pool(),
                Fire(96, 16, 64, 64), Fire(128, 16, 64, 64), Fire(128, 32, 128, 128), _pool(),
                Fire(256, 32, 128, 128), Fire(256, 48, 192, 192), Fire(384, 48, 192, 192),
                Fire(384, 64, 256, 256), _pool(), Fire(512, 64, 256, 256),
            )  # fmt: skip
        elif version == "1_1":
            self.features = nn.Sequential(
                nn.Conv2d(3, 64, 3, stride=2), nn.ReLU(inplace=True), _pool(),
                Fire(64, 16, 64, 64), Fire(128, 16, 64, 64), _pool(),
                Fire(128, 32, 128, 128), Fire(256, 32, 128, 128), _pool(),
                Fire(256, 48, 192, 192), Fire(384, 48, 192, 192), Fire(384, 64, 256, 256),
                Fire(512, 64, 256, 256),
            )  # fmt: skip
        else:
            raise ValueError(f"Unsupported SqueezeNet version {version}: 1_0 or 1_1 expected")
        final_conv = nn.Conv2d(512, num_classes, 1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), final_conv, nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1))
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if m is final_conv:
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        return self.classifier(self.features(x)).flatten(1)


_URL = "https://download.pytorch.org/models/"
_RECIPE = "https://github.com/pytorch/vision/pull/49#issuecomment-277560717"


class SqueezeNet1_0_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        _URL + "squeezenet1_0-b66bff10.pth", num_params=1248424, acc1=58.092, acc5=80.42,
        gflops=0.82, file_size_mb=4.778, recipe=_RECIPE, min_size=(21, 21),
    )  # fmt: skip
    DEFAULT = IMAGENET1K_V1


class SqueezeNet1_1_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        _URL + "squeezenet1_1-b8a52dc0.pth", num_params=1235496, acc1=58.178, acc5=80.624,
        gflops=0.349, file_size_mb=4.729, recipe=_RECIPE, min_size=(17, 17),
    )  # fmt: skip
    DEFAULT = IMAGENET1K_V1


@weights_builder(SqueezeNet1_0_Weights, SqueezeNet1_0_Weights.IMAGENET1K_V1)
def squeezenet1_0(**kwargs):
    return SqueezeNet("1_0", **kwargs)


@weights_builder(SqueezeNet1_1_Weights, SqueezeNet1_1_Weights.IMAGENET1K_V1)
def squeezenet1_1(**kwargs):
    return SqueezeNet("1_1", **kwargs)
