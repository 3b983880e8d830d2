"""Image classification models with torchvision's module names and ``state_dict`` keys."""

from ember.vision.models.lenet import LeNet5, lenet5
from ember.vision.models.mobilenetv2 import MobileNetV2, mobilenet_v2
from ember.vision.models.resnet import ResNet, resnet18, resnet34, resnet50
from ember.vision.models.simple_cnn import SimpleCNN, simple_cnn
from ember.vision.models.vgg import VGG, vgg11_bn, vgg16_bn

__all__ = [
    "LeNet5", "MobileNetV2", "ResNet", "SimpleCNN", "VGG", "lenet5", "mobilenet_v2",
    "resnet18", "resnet34", "resnet50", "simple_cnn", "vgg11_bn", "vgg16_bn",
]  # fmt: skip
