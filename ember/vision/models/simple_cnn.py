"""``SimpleCNN``: the small default network of ``ember train``."""

from ember import nn


def conv_block(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class SimpleCNN(nn.Module):
    """Two blocks of 3x3 convolution, BatchNorm, ReLU and 2x2 max pooling (``width`` and
    ``2 * width`` channels), then a hidden linear layer with dropout. Works for any image side
    divisible by 4 (8x8 digits, 28x28 MNIST, 32x32 CIFAR)."""

    def __init__(self, num_classes=10, in_channels=1, image_size=28, width=32, hidden=128,
                 dropout=0.25):  # fmt: skip
        super().__init__()
        if image_size % 4:
            raise ValueError(f"SimpleCNN: image_size must be divisible by 4, got {image_size}")
        self.features = nn.Sequential(conv_block(in_channels, width), conv_block(width, 2 * width))
        side = image_size // 4
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(2 * width * side * side, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def simple_cnn(num_classes=10, in_channels=1, image_size=28, **kwargs):
    return SimpleCNN(num_classes, in_channels, image_size, **kwargs)
