"""ResNet-18/34/50 (He et al., 2016) with torchvision's module names (stride on the 3x3
convolution of the bottleneck, as torchvision's "v1.5")."""

from ember import nn
from ember.vision.models._api import WeightsEnum, imagenet_weights, weights_builder
from ember.vision.models._init import init_conv_bn


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


def conv1x1(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)  # torchvision's order
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)  # torchvision's order
        return self.relu(out + identity)


class ResNet(nn.Module):
    """``small_input=True`` (for 28x28 or 32x32 images) makes the stem a 3x3 stride-1
    convolution and replaces its max pooling by ``Identity``; the ``state_dict`` keeps
    torchvision's keys, only ``conv1.weight`` changes shape. ``in_channels`` other than 3 also
    changes only ``conv1.weight``."""

    def __init__(self, block, layers, num_classes=1000, zero_init_residual=False,
                 in_channels=3, small_input=False):  # fmt: skip
        super().__init__()
        self.inplanes = 64
        if small_input:
            self.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity() if small_input else nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        init_conv_bn(self)
        if zero_init_residual:
            for m in self.modules():
                last = getattr(m, "bn3", None) if isinstance(m, Bottleneck) else None
                last = getattr(m, "bn2", None) if isinstance(m, BasicBlock) else last
                if last is not None:
                    nn.init.zeros_(last.weight)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


_URL = "https://download.pytorch.org/models/"
_RESNET_RECIPE = "https://github.com/pytorch/vision/tree/main/references/classification#resnet"


class ResNet18_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        _URL + "resnet18-f37072fd.pth", num_params=11689512, acc1=69.758, acc5=89.078,
        gflops=1.814, file_size_mb=44.661, recipe=_RESNET_RECIPE,
    )  # fmt: skip
    DEFAULT = IMAGENET1K_V1


class ResNet34_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        _URL + "resnet34-b627a593.pth", num_params=21797672, acc1=73.314, acc5=91.42,
        gflops=3.664, file_size_mb=83.275, recipe=_RESNET_RECIPE,
    )  # fmt: skip
    DEFAULT = IMAGENET1K_V1


class ResNet50_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        _URL + "resnet50-0676ba61.pth", num_params=25557032, acc1=76.13, acc5=92.862,
        gflops=4.089, file_size_mb=97.781, recipe=_RESNET_RECIPE,
    )  # fmt: skip
    IMAGENET1K_V2 = imagenet_weights(
        _URL + "resnet50-11ad3fa6.pth", num_params=25557032, acc1=80.858, acc5=95.434,
        gflops=4.089, file_size_mb=97.79, resize_size=232,
        recipe="https://github.com/pytorch/vision/issues/3995#issuecomment-1013906621",
    )  # fmt: skip
    DEFAULT = IMAGENET1K_V2


@weights_builder(ResNet18_Weights, ResNet18_Weights.IMAGENET1K_V1)
def resnet18(**kwargs):
    return ResNet(BasicBlock, [2, 2, 2, 2], **kwargs)


@weights_builder(ResNet34_Weights, ResNet34_Weights.IMAGENET1K_V1)
def resnet34(**kwargs):
    return ResNet(BasicBlock, [3, 4, 6, 3], **kwargs)


@weights_builder(ResNet50_Weights, ResNet50_Weights.IMAGENET1K_V1)
def resnet50(**kwargs):
    return ResNet(Bottleneck, [3, 4, 6, 3], **kwargs)
