"""One training epoch of ``ember train``'s default Fashion-MNIST CNN, ember against PyTorch.

    python benchmarks/bench_train.py [--data-dir DIR] [--samples 60000] [--batch-size 64]

Both run the same loop (SimpleCNN: two conv-BN-ReLU-pool blocks, 128 hidden units, Adam,
batch 64) over the same normalised arrays in the same order. Without the Fashion-MNIST files
(``/usr/share/datasets/fashion-mnist`` or ``--data-dir``) random images of the same shape are
used; the timing does not depend on the pixel values.
"""

import argparse
import os
import time

# Both libraries' OpenMP threads sleep between parallel regions (see bench_nn.py): PyTorch
# loads libgomp first, and ember's oneDNN then shares it with whatever policy it started with.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import ember  # noqa: E402
import ember.nn.functional as EF  # noqa: E402
from ember.cli.train import build_model  # noqa: E402
from ember.cli.train_data import TrainError, load_data  # noqa: E402


def fashion_or_random(data_dir, samples):
    try:
        data = load_data("fashion-mnist", data_dir)
        x, y, source = data.x_train, data.y_train, "Fashion-MNIST"
    except TrainError:
        rng = np.random.default_rng(0)
        x = rng.standard_normal((60000, 1, 28, 28), dtype=np.float32)
        y = rng.integers(0, 10, 60000)
        source = "random 28x28 images (Fashion-MNIST not installed)"
    return x[:samples], y[:samples].astype(np.int64), source


def torch_model():
    def block(cin, cout):
        return [torch.nn.Conv2d(cin, cout, 3, padding=1, bias=False), torch.nn.BatchNorm2d(cout),
                torch.nn.ReLU(), torch.nn.MaxPool2d(2)]  # fmt: skip

    return torch.nn.Sequential(
        *block(1, 32), *block(32, 64), torch.nn.Flatten(), torch.nn.Linear(64 * 7 * 7, 128),
        torch.nn.ReLU(), torch.nn.Dropout(0.25), torch.nn.Linear(128, 10),
    )  # fmt: skip


def epoch(lib, F, model, opt, x, y, batch_size):
    order = np.random.default_rng(0).permutation(len(y))
    model.train()
    start = time.perf_counter()
    for i in range(0, len(y), batch_size):
        idx = order[i : i + batch_size]
        xb, yb = lib.from_numpy(x[idx]), lib.from_numpy(y[idx])
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return len(y) / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir")
    p.add_argument("--samples", type=int, default=60000)
    p.add_argument("--batch-size", type=int, default=64)
    args = p.parse_args()
    x, y, source = fashion_or_random(args.data_dir, args.samples)
    print(f"data: {source}, {len(y)} samples, batch {args.batch_size}, "
          f"torch threads {torch.get_num_threads()}")  # fmt: skip
    ember.manual_seed(0)
    em = build_model("cnn", 10, (1, 28, 28))
    em_rate = epoch(ember, EF, em, ember.optim.Adam(em.parameters(), 2e-3), x, y, args.batch_size)
    torch.manual_seed(0)
    tm = torch_model()
    t_rate = epoch(torch, torch.nn.functional, tm, torch.optim.Adam(tm.parameters(), 2e-3), x, y,
                   args.batch_size)  # fmt: skip
    for name, rate in (("ember", em_rate), ("torch", t_rate)):
        print(f"{name}  {rate:8.0f} samples/s  {60000 / rate:7.1f} s per 60,000-image epoch")
    print(f"ember / torch: {em_rate / t_rate:.2f}x the throughput")


if __name__ == "__main__":
    main()
