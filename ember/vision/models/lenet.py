"""LeNet-5 (LeCun et al., 1998) with ReLU and max pooling, for 28x28 or 32x32 images."""

from ember import nn


class LeNet5(nn.Module):
    """Two 5x5 convolutions (6 and 16 channels) and three linear layers (120, 84,
    ``num_classes``). 28x28 inputs are zero-padded by 2 in the first convolution, so both
    sizes reach the classifier as 16 x 5 x 5."""

    def __init__(self, num_classes=10, in_channels=1, image_size=28):
        super().__init__()
        if image_size not in (28, 32):
            raise ValueError(f"LeNet5: image_size must be 28 or 32, got {image_size}")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=2 if image_size == 28 else 0),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120),
            nn.ReLU(inplace=True),
            nn.Linear(120, 84),
            nn.ReLU(inplace=True),
            nn.Linear(84, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def lenet5(num_classes=10, in_channels=1, image_size=28):
    return LeNet5(num_classes, in_channels, image_size)
