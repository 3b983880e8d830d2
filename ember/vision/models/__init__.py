"""Image classification models with torchvision's module names and ``state_dict`` keys."""

from ember.vision.models._api import Weights, WeightsEnum
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
from ember.vision.models.vgg import VGG, VGG11_BN_Weights, VGG16_BN_Weights, vgg11_bn, vgg16_bn

__all__ = [
    "LeNet5", "MobileNetV2", "ResNet", "SimpleCNN", "VGG", "lenet5", "mobilenet_v2",
    "resnet18", "resnet34", "resnet50", "simple_cnn", "vgg11_bn", "vgg16_bn", "Weights",
    "WeightsEnum", "ResNet18_Weights", "ResNet34_Weights", "ResNet50_Weights",
    "MobileNet_V2_Weights", "VGG11_BN_Weights", "VGG16_BN_Weights",
]  # fmt: skip
