"""Weight initialisation shared by the models (torchvision's choices)."""

from ember import nn


def init_conv_bn(module, linear_std=None):
    """Kaiming-normal (fan_out, ReLU) convolutions, unit BatchNorm/GroupNorm; Linear layers
    drawn from N(0, linear_std) with zero bias when ``linear_std`` is given, else left at their
    default initialisation."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear) and linear_std is not None:
            nn.init.normal_(m.weight, 0, linear_std)
            nn.init.zeros_(m.bias)
