"""timm on ember: ResNet-18 and a small ViT built by ``timm.create_model``, trained two steps
with timm's optimizer factory, against the same networks on PyTorch.

timm imports torchvision, which the PyTorch used as the reference here lacks (ember brings its
own); there the script builds the same architectures, with timm's parameter names, and the
optimizer timm's factory makes. Weights come from a formula, the same in both.
"""

import importlib.util

import numpy as np
import pytest

# installed is enough: importing timm needs torchvision, which only ember provides here
pytestmark = pytest.mark.skipif(importlib.util.find_spec("timm") is None, reason="needs timm")

SCRIPT = '''
import json
import torch
from torch import nn
import torch.nn.functional as F

try:
    import timm
    from timm.optim import create_optimizer_v2
except ImportError:  # timm needs torchvision; without it, the same networks written out
    timm = None


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class ResNet18(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        widths = [(64, 64, 1), (64, 128, 2), (128, 256, 2), (256, 512, 2)]
        for i, (cin, cout, stride) in enumerate(widths):
            setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(cin, cout, stride),
                                                         BasicBlock(cout, cout, 1)))
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(x.mean((2, 3)))


class PatchEmbed(nn.Module):
    def __init__(self, patch, dim):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, patch, patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        x = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, 4 * dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    def __init__(self, img_size, patch, dim, depth, heads, num_classes):
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + (img_size // patch) ** 2, dim))
        self.patch_embed = PatchEmbed(patch, dim)
        self.blocks = nn.Sequential(*[Block(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos_embed
        return self.head(self.norm(self.blocks(x))[:, 0])


def fill_(model):
    """The same weights in both libraries: a formula of each parameter's position."""
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            ramp = torch.arange(p.numel(), dtype=torch.float32).reshape(p.shape)
            p.copy_((ramp * 0.37 + i).sin() / (p[0].numel() ** 0.5))


def optimizer_for(model, no_decay_names=()):
    """timm's factory, or what it builds: SGD with momentum, no weight decay on biases,
    norms and the names the model lists."""
    if timm is not None:
        return create_optimizer_v2(model, opt="momentum", lr=0.01, momentum=0.9,
                                   weight_decay=1e-3)
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        skip = p.ndim <= 1 or name.endswith(".bias") or name in no_decay_names
        (no_decay if skip else decay).append(p)
    groups = [{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": 1e-3}]
    return torch.optim.SGD(groups, lr=0.01, momentum=0.9)


def train(model, images, labels, steps, no_decay_names=()):
    fill_(model)
    optimizer = optimizer_for(model, no_decay_names)
    first = model(images)
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        after = model(images)
    return {"names": [n for n, _ in model.named_parameters()], "first": first.tolist(),
            "losses": losses, "eval": after.tolist(),
            "weight": next(iter(model.parameters())).detach().flatten()[:64].tolist()}


images = (torch.arange(4 * 3 * 32 * 32, dtype=torch.float32).reshape(4, 3, 32, 32) * 0.013).sin()
labels = torch.tensor([1, 3, 5, 7])
if timm is not None:
    resnet = timm.create_model("resnet18", pretrained=False, num_classes=10)
    vit = timm.create_model("vit_tiny_patch16_224", pretrained=False, num_classes=10,
                            img_size=32, patch_size=8, depth=2)
else:
    resnet = ResNet18(num_classes=10)
    vit = ViT(img_size=32, patch=8, dim=192, depth=2, heads=3, num_classes=10)
out = {
    "timm": timm is not None,
    "resnet18": train(resnet, images, labels, steps=2),
    "vit": train(vit, images, labels, steps=2, no_decay_names=("cls_token", "pos_embed")),
}
print(json.dumps(out))
'''


def test_timm_models_train_as_on_torch(run_under_both):
    ours, theirs = run_under_both(SCRIPT)
    assert ours["timm"], "under ember run, timm itself must build the models"
    for model in ("resnet18", "vit"):
        mine, reference = ours[model], theirs[model]
        assert mine["names"] == reference["names"]
        np.testing.assert_allclose(mine["first"], reference["first"], rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(mine["losses"], reference["losses"], rtol=1e-5)
        np.testing.assert_allclose(mine["weight"], reference["weight"], rtol=1e-4, atol=1e-4)
        # eval mode normalises with running statistics of huge activations: compare relatively
        np.testing.assert_allclose(mine["eval"], reference["eval"], rtol=1e-3, atol=1e-4)
