"""Training workloads written once in the PyTorch API; ``lib`` is torch or ember.

Each builder returns a ``step()`` that runs one training step (or one inference call) on
synthetic data from a fixed seed.
"""

import numpy as np


def _data(shape, seed=0, kind="normal", high=10):
    rng = np.random.default_rng(seed)
    if kind == "int":
        return rng.integers(0, high, shape)
    return rng.standard_normal(shape).astype(np.float32)


def _train_step(lib, model, opt, x, y):
    loss_fn = lib.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def mlp(lib):
    nn = lib.nn
    lib.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)
    )
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = lib.tensor(_data((128, 784)))
    y = lib.tensor(_data((128,), kind="int"))
    return _train_step(lib, model, opt, x, y)


def cnn_model(lib):
    """2 conv + 2 linear layers for 28x28 single-channel images."""
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(3136, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )


def cnn(lib):
    lib.manual_seed(0)
    model = cnn_model(lib)
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = lib.tensor(_data((64, 1, 28, 28)))
    y = lib.tensor(_data((64,), kind="int"))
    return _train_step(lib, model, opt, x, y)


def transformer(lib):
    nn = lib.nn

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(1000, 128)
            self.pos = nn.Parameter(lib.zeros(1, 64, 128))
            layer = nn.TransformerEncoderLayer(
                128, 4, 512, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
            )
            self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.head = nn.Linear(128, 10)

        def forward(self, tokens):
            h = self.encoder(self.embed(tokens) + self.pos)
            return self.head(h.mean(1))

    lib.manual_seed(0)
    model = Encoder()
    opt = lib.optim.AdamW(model.parameters(), lr=1e-3)
    x = lib.tensor(_data((32, 64), kind="int", high=1000))
    y = lib.tensor(_data((32,), kind="int"))
    return _train_step(lib, model, opt, x, y)


def lstm(lib):
    nn = lib.nn

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(1000, 128)
            self.lstm = nn.LSTM(128, 256, batch_first=True)
            self.head = nn.Linear(256, 10)

        def forward(self, tokens):
            _, (h, _) = self.lstm(self.embed(tokens))
            return self.head(h[-1])

    lib.manual_seed(0)
    model = Classifier()
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    x = lib.tensor(_data((32, 50), kind="int", high=1000))
    y = lib.tensor(_data((32,), kind="int"))
    return _train_step(lib, model, opt, x, y)


def _resnet18_cifar(lib):
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Sequential()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
                )

        def forward(self, x):
            out = lib.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return lib.relu(out + self.shortcut(x))

    layers = [nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU()]
    cin = 64
    for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers += [Block(cin, cout, stride), Block(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 10)]
    return nn.Sequential(*layers)


def resnet18(lib):
    lib.manual_seed(0)
    model = _resnet18_cifar(lib)
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = lib.tensor(_data((32, 3, 32, 32)))
    y = lib.tensor(_data((32,), kind="int"))
    return _train_step(lib, model, opt, x, y)


def _inference(lib, model, x):
    model.eval()

    def step():
        with lib.no_grad():
            return model(x)

    return step


def mlp_latency(lib):
    nn = lib.nn
    lib.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)
    )
    return _inference(lib, model, lib.tensor(_data((1, 784))))


def resnet18_latency(lib):
    lib.manual_seed(0)
    return _inference(lib, _resnet18_cifar(lib), lib.tensor(_data((1, 3, 32, 32))))


WORKLOADS = {
    "mlp": mlp,
    "cnn": cnn,
    "transformer": transformer,
    "lstm": lstm,
    "resnet18": resnet18,
    "mlp_latency_b1": mlp_latency,
    "resnet18_latency_b1": resnet18_latency,
}
