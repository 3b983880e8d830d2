"""One training epoch of ``ember train``'s default Fashion-MNIST CNN, ember against PyTorch.

    python benchmarks/bench_train.py [--data-dir DIR] [--samples 60000] [--batch-size 64]
                                     [--repeats 3]

Both run the same loop (SimpleCNN: two conv-BN-ReLU-pool blocks, 128 hidden units, Adam,
batch 64) over the same normalised arrays in the same order. Without the Fashion-MNIST files
(``/usr/share/datasets/fashion-mnist`` or ``--data-dir``) random images of the same shape are
used; the timing does not depend on the pixel values.

Each epoch runs in a fresh process that imports only its own library and keeps that library's
defaults (threads, OpenMP policy): nothing is set for either. The runs alternate ember, torch,
ember, torch, ... for ``--repeats`` rounds; the table gives the median and the range.
"""

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"


def _idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def fashion_or_random(data_dir, samples):
    """NumPy only: the training images normalised by their mean and std, or random images."""
    d = data_dir or DEFAULT_DIR
    try:
        x = _idx(os.path.join(d, "train-images-idx3-ubyte.gz"))[:, None].astype(np.float32) / 255
        y = _idx(os.path.join(d, "train-labels-idx1-ubyte.gz"))
        mean = x.mean(dtype=np.float64)
        std = x.std(dtype=np.float64) or 1.0
        x = ((x - mean) / std).astype(np.float32)
        source = "Fashion-MNIST"
    except OSError:
        rng = np.random.default_rng(0)
        x = rng.standard_normal((60000, 1, 28, 28), dtype=np.float32)
        y = rng.integers(0, 10, 60000)
        source = "random 28x28 images (Fashion-MNIST not installed)"
    return x[:samples], y[:samples].astype(np.int64), source


def torch_setup():
    import torch

    def block(cin, cout):
        return [torch.nn.Conv2d(cin, cout, 3, padding=1, bias=False), torch.nn.BatchNorm2d(cout),
                torch.nn.ReLU(), torch.nn.MaxPool2d(2)]  # fmt: skip

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        *block(1, 32), *block(32, 64), torch.nn.Flatten(), torch.nn.Linear(64 * 7 * 7, 128),
        torch.nn.ReLU(), torch.nn.Dropout(0.25), torch.nn.Linear(128, 10),
    )  # fmt: skip
    opt = torch.optim.Adam(model.parameters(), 2e-3)
    return torch, torch.nn.functional, model, opt, torch.get_num_threads()


def ember_setup():
    import ember
    import ember.nn.functional as EF
    from ember.cli.train import build_model

    ember.manual_seed(0)
    model = build_model("cnn", 10, (1, 28, 28))
    return ember, EF, model, ember.optim.Adam(model.parameters(), 2e-3), None


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


def worker(args):
    x, y, source = fashion_or_random(args.data_dir, args.samples)
    lib, F, model, opt, threads = (ember_setup if args.worker == "ember" else torch_setup)()
    rate = epoch(lib, F, model, opt, x, y, args.batch_size)
    print(json.dumps({"lib": args.worker, "rate": rate, "source": source, "threads": threads}))


def run_worker(lib, args):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", lib,
           "--samples", str(args.samples), "--batch-size", str(args.batch_size)]  # fmt: skip
    if args.data_dir:
        cmd += ["--data-dir", args.data_dir]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir")
    p.add_argument("--samples", type=int, default=60000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--worker", choices=("ember", "torch"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args)
    rates = {"ember": [], "torch": []}
    for r in range(args.repeats):
        for lib in ("ember", "torch"):
            res = run_worker(lib, args)
            rates[lib].append(res["rate"])
            if r == 0 and lib == "torch":
                print(f"data: {res['source']}, {args.samples} samples, batch {args.batch_size}, "
                      f"torch threads {res['threads']}, {args.repeats} runs each, "
                      "alternating, one process per run")  # fmt: skip
    print(f"{'':7}{'median samples/s':>17}{'min-max':>16}{'s per 60,000 images':>21}")
    med = {}
    for lib, rs in rates.items():
        med[lib] = statistics.median(rs)
        print(f"{lib:7}{med[lib]:>17.0f}{f'{min(rs):.0f}-{max(rs):.0f}':>16}"
              f"{60000 / med[lib]:>21.1f}")  # fmt: skip
    pairs = [e / t for e, t in zip(rates["ember"], rates["torch"])]
    print(f"ember / torch: {med['ember'] / med['torch']:.2f}x the throughput (ratio of medians; "
          f"{min(pairs):.2f}-{max(pairs):.2f} over the ember-torch pairs of runs)")  # fmt: skip


if __name__ == "__main__":
    main()
