"""AlexNet and SqueezeNet: torchvision's names and parameter counts, and outputs that match
the same networks built in plain torch."""

import numpy as np
import pytest
import torch
from torch import nn

import ember
from ember.vision import models


def torch_alexnet(num_classes):
    model = nn.Module()
    model.features = nn.Sequential(
        nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2), nn.Conv2d(64, 192, 5, padding=2),
        nn.ReLU(), nn.MaxPool2d(3, 2), nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(), nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(3, 2),
    )  # fmt: skip
    model.avgpool = nn.AdaptiveAvgPool2d(6)
    model.classifier = nn.Sequential(
        nn.Dropout(), nn.Linear(9216, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 4096),
        nn.ReLU(), nn.Linear(4096, num_classes),
    )  # fmt: skip
    model.forward = lambda x: model.classifier(torch.flatten(model.avgpool(model.features(x)), 1))
    return model


class TorchFire(nn.Module):
    def __init__(self, cin, s, e1, e3):
        super().__init__()
        self.squeeze = nn.Conv2d(cin, s, 1)
        self.expand1x1 = nn.Conv2d(s, e1, 1)
        self.expand3x3 = nn.Conv2d(s, e3, 3, padding=1)

    def forward(self, x):
        x = torch.relu(self.squeeze(x))
        return torch.cat([torch.relu(self.expand1x1(x)), torch.relu(self.expand3x3(x))], 1)


def torch_squeezenet(version, num_classes):
    pool = lambda: nn.MaxPool2d(3, 2, ceil_mode=True)  # noqa: E731
    fires = {
        "1_0": [nn.Conv2d(3, 96, 7, 2), nn.ReLU(), pool(), TorchFire(96, 16, 64, 64),
                TorchFire(128, 16, 64, 64), TorchFire(128, 32, 128, 128), pool(),
                TorchFire(256, 32, 128, 128), TorchFire(256, 48, 192, 192),
                TorchFire(384, 48, 192, 192), TorchFire(384, 64, 256, 256), pool(),
                TorchFire(512, 64, 256, 256)],
        "1_1": [nn.Conv2d(3, 64, 3, 2), nn.ReLU(), pool(), TorchFire(64, 16, 64, 64),
                TorchFire(128, 16, 64, 64), pool(), TorchFire(128, 32, 128, 128),
                TorchFire(256, 32, 128, 128), pool(), TorchFire(256, 48, 192, 192),
                TorchFire(384, 48, 192, 192), TorchFire(384, 64, 256, 256),
                TorchFire(512, 64, 256, 256)],
    }  # fmt: skip
    model = nn.Module()
    model.features = nn.Sequential(*fires[version])
    model.classifier = nn.Sequential(
        nn.Dropout(), nn.Conv2d(512, num_classes, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1)
    )
    model.forward = lambda x: torch.flatten(model.classifier(model.features(x)), 1)
    return model


CASES = {
    "alexnet": (models.alexnet, models.AlexNet_Weights, lambda: torch_alexnet(5), 64),
    "squeezenet1_0": (models.squeezenet1_0, models.SqueezeNet1_0_Weights,
                      lambda: torch_squeezenet("1_0", 5), 48),
    "squeezenet1_1": (models.squeezenet1_1, models.SqueezeNet1_1_Weights,
                      lambda: torch_squeezenet("1_1", 5), 48),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch_network(name):
    build, enum, reference, side = CASES[name]
    ours, theirs = build(num_classes=5).eval(), reference().eval()
    state = ours.state_dict()
    assert [(k, tuple(v.shape)) for k, v in state.items()] == [
        (k, tuple(v.shape)) for k, v in theirs.state_dict().items()
    ]
    theirs.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in state.items()})
    x = np.random.default_rng(0).random((2, 3, side, side), np.float32)
    with torch.no_grad():
        expected = theirs.forward(torch.tensor(x)).numpy()
    np.testing.assert_allclose(
        ours(ember.tensor(x)).detach().numpy(), expected, rtol=1e-4, atol=1e-5
    )
    assert enum.DEFAULT.meta["num_params"] == sum(p.numel() for p in build().parameters())
    assert enum.DEFAULT.url.rsplit("/", 1)[1].startswith(name.replace("alexnet", "alexnet-owt"))


def test_unknown_squeezenet_version_is_refused():
    with pytest.raises(ValueError, match="Unsupported SqueezeNet version 2_0"):
        models.SqueezeNet("2_0")
