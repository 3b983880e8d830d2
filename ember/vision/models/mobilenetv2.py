"""MobileNetV2 (Sandler et al., 2018) with torchvision's module names."""

from ember import nn
from ember.vision.models._api import WeightsEnum, imagenet_weights, weights_builder
from ember.vision.models._init import init_conv_bn


def _make_divisible(v, divisor, min_value=None):
    """Round ``v`` to a multiple of ``divisor`` without going more than 10% below it."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class Conv2dNormActivation(nn.Sequential):
    """Convolution (no bias), BatchNorm and ReLU6, as keys ``0``, ``1``, ``2``."""

    def __init__(self, cin, cout, kernel_size=3, stride=1, groups=1):
        super().__init__(
            nn.Conv2d(
                cin, cout, kernel_size, stride, (kernel_size - 1) // 2, groups=groups, bias=False
            ),  # fmt: skip
            nn.BatchNorm2d(cout),
            nn.ReLU6(inplace=True),
        )
        self.out_channels = cout


class InvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"InvertedResidual: stride must be 1 or 2, got {stride}")
        self.stride = stride
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = [] if expand_ratio == 1 else [Conv2dNormActivation(inp, hidden, kernel_size=1)]
        layers += [
            Conv2dNormActivation(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, oup, 1, 1, 0, bias=False),
            nn.BatchNorm2d(oup),
        ]
        self.conv = nn.Sequential(*layers)
        self.out_channels = oup

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """``small_input=True`` (28x28 or 32x32 images) makes the stem and the first 24-channel
    stage stride 1; the ``state_dict`` is unchanged."""

    # expansion t, channels c, repeats n, first stride s
    settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1],
                [6, 160, 3, 2], [6, 320, 1, 1]]  # fmt: skip

    def __init__(self, num_classes=1000, width_mult=1.0, round_nearest=8, dropout=0.2,
                 in_channels=3, small_input=False):  # fmt: skip
        super().__init__()
        channel = _make_divisible(32 * width_mult, round_nearest)
        self.last_channel = _make_divisible(1280 * max(1.0, width_mult), round_nearest)
        features = [Conv2dNormActivation(in_channels, channel, stride=1 if small_input else 2)]
        for k, (t, c, n, s) in enumerate(self.settings):
            out = _make_divisible(c * width_mult, round_nearest)
            if small_input and k == 1:
                s = 1
            for i in range(n):
                features.append(InvertedResidual(channel, out, s if i == 0 else 1, t))
                channel = out
        features.append(Conv2dNormActivation(channel, self.last_channel, kernel_size=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(self.last_channel, num_classes)
        )
        init_conv_bn(self, linear_std=0.01)

    def forward(self, x):
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, (1, 1)).flatten(1)
        return self.classifier(x)


class MobileNet_V2_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/mobilenet_v2-b0353104.pth", num_params=3504872,
        acc1=71.878, acc5=90.286, gflops=0.301, file_size_mb=13.555,
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#mobilenetv2",
    )  # fmt: skip
    IMAGENET1K_V2 = imagenet_weights(
        "https://download.pytorch.org/models/mobilenet_v2-7ebf99e0.pth", num_params=3504872,
        acc1=72.154, acc5=90.822, gflops=0.301, file_size_mb=13.598, resize_size=232,
        recipe="https://github.com/pytorch/vision/issues/3995#new-recipe-with-reg-tuning",
    )  # fmt: skip
    DEFAULT = IMAGENET1K_V2


@weights_builder(MobileNet_V2_Weights, MobileNet_V2_Weights.IMAGENET1K_V1)
def mobilenet_v2(**kwargs):
    return MobileNetV2(**kwargs)
