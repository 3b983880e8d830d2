"""AlexNet (Krizhevsky, 2014's single-tower variant), torchvision's module names."""

from ember import nn
from ember.vision.models._api import WeightsEnum, imagenet_weights, weights_builder


class AlexNet(nn.Module):
    def __init__(self, num_classes=1000, dropout=0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, stride=2),
            nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2),
            nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2),
        )  # fmt: skip
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )  # fmt: skip

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


class AlexNet_Weights(WeightsEnum):
    IMAGENET1K_V1 = imagenet_weights(
        "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth", num_params=61100840,
        acc1=56.522, acc5=79.066, gflops=0.714, file_size_mb=233.087, min_size=(63, 63),
        recipe="https://github.com/pytorch/vision/tree/main/references/classification#alexnet-and-vgg",
    )  # fmt: skip
    DEFAULT = IMAGENET1K_V1


@weights_builder(AlexNet_Weights, AlexNet_Weights.IMAGENET1K_V1)
def alexnet(**kwargs):
    return AlexNet(**kwargs)
