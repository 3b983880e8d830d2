"""Training workloads written once in the PyTorch API; ``lib`` is torch or ember.

Each builder returns a ``step()`` that runs one training step (or one inference call) on
synthetic data from a fixed seed.
"""

import gzip
import os

import numpy as np

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"


def _data(shape, seed=0, kind="normal", high=10):
    rng = np.random.default_rng(seed)
    if kind == "int":
        return rng.integers(0, high, shape)
    return rng.standard_normal(shape).astype(np.float32)


def _train_step(lib, model, opt, x, y):
    return _train_step_on(lib, model, opt, lambda: (x, y))


def _train_step_on(lib, model, opt, next_batch):
    """A classifier's training step on the batch ``next_batch()`` gives."""
    loss_fn = lib.nn.CrossEntropyLoss()

    def step():
        xb, yb = next_batch()
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
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


def _encoder(lib, activation):
    nn = lib.nn

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(1000, 128)
            self.pos = nn.Parameter(lib.zeros(1, 64, 128))
            layer = nn.TransformerEncoderLayer(
                128, 4, 512, dropout=0.0, activation=activation, batch_first=True, norm_first=True
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


def transformer(lib):
    """2 pre-norm encoder layers, d128, exact GELU."""
    return _encoder(lib, "gelu")


def transformer_gelu_tanh(lib):
    """The same with GELU's tanh approximation (GPT-2, minGPT, timm's ViTs)."""
    return _encoder(lib, lambda x: lib.nn.functional.gelu(x, approximate="tanh"))


def gpt(lib):
    """A GPT-2-style decoder at a small size: 4 layers, d128, 4 heads, context 64, vocab 512.

    Causal attention through ``scaled_dot_product_attention``, GELU-tanh MLPs, tied input and
    output embeddings, AdamW, as in the small language models users train on a CPU.
    """
    nn, F = lib.nn, lib.nn.functional
    d, heads, context, vocab = 128, 4, 64, 512

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

        def forward(self, x):
            b, t, _ = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
            q, k, v = (z.view(b, t, heads, d // heads).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).contiguous().view(b, t, d))
            return x + self.out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tokens = nn.Embedding(vocab, d)
            self.positions = nn.Embedding(context, d)
            self.blocks = nn.ModuleList(Block() for _ in range(4))
            self.ln = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab, bias=False)
            self.head.weight = self.tokens.weight

        def forward(self, idx):
            x = self.tokens(idx) + self.positions(lib.arange(idx.shape[1]))
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln(x))

    lib.manual_seed(0)
    model = GPT()
    opt = lib.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)
    idx = lib.tensor(_data((16, context), kind="int", high=vocab))
    targets = lib.tensor(_data((16, context), seed=1, kind="int", high=vocab))

    def step():
        opt.zero_grad(set_to_none=True)
        logits = model(idx)
        loss = F.cross_entropy(logits.view(-1, vocab), targets.view(-1))
        loss.backward()
        opt.step()
        return loss

    return step


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


def _fashion_mnist_images(samples):
    """The first ``samples`` Fashion-MNIST training images (uint8, (N, 28, 28)) and labels, or
    random ones of that shape where the data set is not installed (the timing does not
    depend on the pixel values)."""
    try:
        with gzip.open(os.path.join(FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz")) as f:
            images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
        with gzip.open(os.path.join(FASHION_MNIST_DIR, "train-labels-idx1-ubyte.gz")) as f:
            labels = np.frombuffer(f.read(), np.uint8, offset=8)
    except OSError:
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, (samples, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, samples).astype(np.uint8)
    return images[:samples], labels[:samples].astype(np.int64)


def fashion_mnist(lib):
    """One step of a Fashion-MNIST training loop as users write it: a shuffling DataLoader
    over a TensorDataset of normalised images (batch 64), and ``ember train``'s default CNN
    (two conv-BatchNorm-ReLU-pool blocks, dropout, Adam). A step takes the next batch from
    the loader, starting a new epoch over 6400 images when one ends."""
    nn = lib.nn
    images, labels = _fashion_mnist_images(6400)
    x = (images[:, None].astype(np.float32) / 255 - 0.2860) / 0.3530
    data = lib.utils.data.TensorDataset(lib.tensor(x), lib.tensor(labels))
    lib.manual_seed(0)
    loader = lib.utils.data.DataLoader(data, batch_size=64, shuffle=True)

    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                nn.ReLU(), nn.MaxPool2d(2)]  # fmt: skip

    model = nn.Sequential(
        *block(1, 32), *block(32, 64), nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
        nn.Dropout(0.25), nn.Linear(128, 10),
    )  # fmt: skip
    opt = lib.optim.Adam(model.parameters(), 2e-3)
    batches = iter(loader)

    def next_batch():
        nonlocal batches
        try:
            return next(batches)
        except StopIteration:
            batches = iter(loader)
            return next(batches)

    return _train_step_on(lib, model, opt, next_batch)


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
    "transformer_gelu_tanh": transformer_gelu_tanh,
    "gpt": gpt,
    "lstm": lstm,
    "resnet18": resnet18,
    "fashion_mnist": fashion_mnist,
    "mlp_latency_b1": mlp_latency,
    "resnet18_latency_b1": resnet18_latency,
}
