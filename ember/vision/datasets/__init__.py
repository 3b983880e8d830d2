"""Image data sets with torchvision's interface."""

from ember.vision.datasets._utils import DatasetError
from ember.vision.datasets.cifar import CIFAR10, CIFAR100
from ember.vision.datasets.digits import Digits
from ember.vision.datasets.emnist import EMNIST
from ember.vision.datasets.fakedata import FakeData
from ember.vision.datasets.folder import DatasetFolder, ImageFolder
from ember.vision.datasets.mnist import KMNIST, MNIST, FashionMNIST
from ember.vision.datasets.vision import VisionDataset

__all__ = [
    "CIFAR10", "CIFAR100", "DatasetError", "DatasetFolder", "Digits", "EMNIST", "FakeData",
    "FashionMNIST",
    "ImageFolder", "KMNIST", "MNIST", "VisionDataset",
]  # fmt: skip
