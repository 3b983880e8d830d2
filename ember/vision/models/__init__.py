"""Image classification models with torchvision's module names and ``state_dict`` keys."""

from ember.vision.models._api import Weights, WeightsEnum
from ember.vision.models.alexnet import AlexNet, AlexNet_Weights, alexnet
from ember.vision.models.lenet import LeNet5, lenet5
from ember.vision.models.mobilenetv2 import MobileNet_V2_Weights, MobileNetV2, mobilenet_v2
from ember.vision.models.resnet import (
    ResNet,
    ResNet18_Weights,
    ResNet34_Weights,
    ResNet50_Weights,
    resnet18,
    resnet34,
    resnet50,
)
from ember.vision.models.simple_cnn import SimpleCNN, simple_cnn
from ember.vision.models.squeezenet import (
    SqueezeNet,
    SqueezeNet1_0_Weights,
    SqueezeNet1_1_Weights,
    squeezenet1_0,
    squeezenet1_1,
)
from ember.vision.models.vgg import (
    VGG,
    VGG11_BN_Weights,
    VGG11_Weights,
    VGG13_BN_Weights,
    VGG13_Weights,
    VGG16_BN_Weights,
    VGG16_Weights,
    VGG19_BN_Weights,
    VGG19_Weights,
    vgg11,
    vgg11_bn,
    vgg13,
    vgg13_bn,
    vgg16,
    vgg16_bn,
    vgg19,
    vgg19_bn,
)

__all__ = [
    "AlexNet", "AlexNet_Weights", "alexnet", "SqueezeNet", "SqueezeNet1_0_Weights",
    "SqueezeNet1_1_Weights", "squeezenet1_0", "squeezenet1_1", "LeNet5", "MobileNetV2", "ResNet",
    "SimpleCNN", "VGG", "lenet5", "mobilenet_v2",
    "resnet18", "resnet34", "resnet50", "simple_cnn", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn",
    "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "Weights", "WeightsEnum", "ResNet18_Weights",
    "ResNet34_Weights", "ResNet50_Weights", "MobileNet_V2_Weights", "VGG11_Weights",
    "VGG11_BN_Weights", "VGG13_Weights", "VGG13_BN_Weights", "VGG16_Weights", "VGG16_BN_Weights",
    "VGG19_Weights", "VGG19_BN_Weights",
]  # fmt: skip
