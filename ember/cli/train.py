"""``ember train``: train an image classifier, with checkpoints, resume and curves.

With no arguments it trains a small CNN on the handwritten digits shipped with ember.
Every run is reproducible from ``--seed``: epoch e shuffles with a generator seeded by
(seed, e), and a checkpoint holds the model, optimiser, scheduler, ember's random state and
the position inside the epoch, so ``--resume`` continues exactly where a run stopped (also
after Ctrl-C, which saves a checkpoint before exiting).
"""

import argparse
import os
import signal
import sys
import time

import numpy as np

from ember.cli.train_data import (
    DATASETS,
    DEFAULTS,
    ArrayBatches,
    TrainError,
    dataset_kind,
    load_data,
)  # fmt: skip

MODELS = ("cnn", "lenet5", "resnet18", "resnet34", "resnet50", "vgg11_bn", "vgg16_bn",
          "mobilenet_v2")  # fmt: skip
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = ("none", "cosine", "step")
INTERRUPTED = 130  # the shell's code for a run stopped by SIGINT


def add_parser(sub):
    p = sub.add_parser(
        "train",
        help="train an image classifier (digits by default)",
        description="Train an image classifier. With no options: a small CNN on the "
        "handwritten digits shipped with ember, in well under a minute.",
    )
    p.add_argument("--dataset", default="digits", help=f"one of {', '.join(DATASETS)}")
    p.add_argument("--data-dir", help="folder holding the data set files")
    p.add_argument("--download", action="store_true", help="download missing data set files")
    p.add_argument("--model", help=f"one of {', '.join(MODELS)} (default: cnn)")
    p.add_argument("--epochs", type=int, help="number of epochs (default per data set)")
    p.add_argument("--batch-size", type=int, help="batch size (default per data set)")
    p.add_argument("--lr", type=float, help="learning rate (default per data set)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    p.add_argument("--scheduler", choices=SCHEDULERS, default="cosine")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--workers", type=int, default=0,
                   help="DataLoader worker processes (default 0: none)")  # fmt: skip
    p.add_argument("--image-size", type=int, default=32, help="side for imagefolder images")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/train", help="output folder (default runs/train)")
    p.add_argument("--resume", metavar="CHECKPOINT", help="continue the run saved in CHECKPOINT")
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")
    p.set_defaults(run=run)


# ------------------------------------------------------------------ set-up


def build_model(name, num_classes, image_shape):
    from ember.vision import models

    channels, side = image_shape[0], image_shape[1]
    if name == "cnn":
        return models.SimpleCNN(num_classes, channels, side)
    if name == "lenet5":
        if side not in (28, 32):
            raise TrainError(f"lenet5 needs 28x28 or 32x32 images, this data set has {side}x{side}")
        return models.LeNet5(num_classes, channels, side)
    if name not in MODELS:
        raise TrainError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    return getattr(models, name)(num_classes, in_channels=channels, small_input=side <= 64)


def build_optimizer(name, params, lr, weight_decay):
    from ember import optim

    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    cls = optim.Adam if name == "adam" else optim.AdamW
    return cls(params, lr=lr, weight_decay=weight_decay)


def build_scheduler(name, optimizer, epochs):
    from ember.optim import lr_scheduler

    if name == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(epochs, 1))
    if name == "step":
        return lr_scheduler.StepLR(optimizer, step_size=max(epochs // 3, 1), gamma=0.1)
    return None


def config_from_args(args):
    """The run's settings: explicit options, else the data set's defaults."""
    kind = dataset_kind(args.dataset)
    cfg = dict(DEFAULTS[kind])
    for key in ("model", "epochs", "batch_size", "lr"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    cfg.update(
        dataset=args.dataset, optimizer=args.optimizer, scheduler=args.scheduler,
        weight_decay=args.weight_decay, seed=args.seed, image_size=args.image_size,
    )  # fmt: skip
    for key, low in (("epochs", 1), ("batch_size", 1)):
        if cfg[key] < low:
            raise TrainError(f"--{key.replace('_', '-')} must be at least {low}, got {cfg[key]}")
    if not cfg["lr"] > 0:
        raise TrainError(f"--lr must be positive, got {cfg['lr']}")
    if cfg["model"] not in MODELS:
        raise TrainError(f"unknown model {cfg['model']!r}; choose from {', '.join(MODELS)}")
    return cfg


def load_checkpoint(path):
    import ember
    from ember.serialization import CheckpointError

    if not os.path.isfile(path):
        raise TrainError(f"no checkpoint at {path}")
    try:
        ckpt = ember.load(path)
    except (CheckpointError, OSError, ValueError) as e:
        raise TrainError(f"cannot read checkpoint {path}: {e}") from e
    needed = ("model", "optimizer", "config", "epoch", "step", "history", "rng", "data")
    if not isinstance(ckpt, dict) or any(k not in ckpt for k in needed):
        raise TrainError(f"{path} is not a checkpoint written by ember train")
    return ckpt


# ------------------------------------------------------------------ the loop


class Stop:
    """Turns SIGINT into a flag checked between batches."""

    def __init__(self):
        self.requested = False

    def __enter__(self):
        self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        self.requested = True

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, self.previous)


def evaluate(model, x, y, batch_size=512):
    """Mean cross-entropy, accuracy and predictions of ``model`` on arrays ``x``, ``y``."""
    import ember
    import ember.nn.functional as F

    model.eval()
    loss_sum, preds = 0.0, []
    with ember.no_grad():
        for i in range(0, len(x), batch_size):
            logits = model(to_device(x[i : i + batch_size]))
            target = to_device(y[i : i + batch_size], logits.device)
            loss_sum += float(F.cross_entropy(logits, target, reduction="sum"))
            preds.append(logits.argmax(1).cpu().numpy())
    preds = np.concatenate(preds) if preds else np.zeros(0, np.int64)
    return loss_sum / max(len(x), 1), float((preds == y).mean()) if len(y) else 0.0, preds


def batch_loader(x, y, batches, workers):
    """A DataLoader yielding the batches of ``x``, ``y`` whose indices ``batches`` lists.

    It gets a generator of its own: a DataLoader draws its workers' base seed when iterated,
    and drawing it from the global generator would shift the dropout masks after a resume.
    """
    import ember
    from ember.utils.data import DataLoader

    generator = ember.Generator().manual_seed(0)
    return DataLoader(ArrayBatches(x, y), batch_size=None, sampler=batches, num_workers=workers,
                      generator=generator)  # fmt: skip


def to_device(array, device=None):
    import ember

    t = ember.from_numpy(array)
    return t if device is None or str(device) == "cpu" else t.to(device)


class Trainer:
    def __init__(self, cfg, data, out, device, quiet, ckpt=None, workers=0):
        import ember

        self.cfg, self.data, self.out, self.quiet = cfg, data, out, quiet
        self.workers = workers
        ember.manual_seed(cfg["seed"])
        self.model = build_model(cfg["model"], len(data.classes), data.image_shape)
        try:
            self.model.to(device)
        except Exception as e:
            raise TrainError(f"cannot use device {device!r}: {e}") from e
        self.device = device
        self.opt = build_optimizer(cfg["optimizer"], self.model.parameters(), cfg["lr"],
                                   cfg["weight_decay"])  # fmt: skip
        self.sched = build_scheduler(cfg["scheduler"], self.opt, cfg["epochs"])
        self.epoch, self.step, self.partial, self.history = 0, 0, [0.0, 0, 0, 0.0], []
        if ckpt is not None:
            self.model.load_state_dict(ckpt["model"])
            self.opt.load_state_dict(ckpt["optimizer"])
            if self.sched is not None and ckpt.get("scheduler") is not None:
                self.sched.load_state_dict(ckpt["scheduler"])
            ember.set_rng_state(ckpt["rng"])
            self.epoch, self.step = int(ckpt["epoch"]), int(ckpt["step"])
            self.partial = list(ckpt["partial"])
            self.history = list(ckpt["history"])

    def checkpoint(self):
        import ember

        return {
            "model": self.model.state_dict(),
            "optimizer": self.opt.state_dict(),
            "scheduler": None if self.sched is None else self.sched.state_dict(),
            "rng": ember.get_rng_state(),
            "epoch": self.epoch,
            "step": self.step,
            "partial": list(self.partial),
            "history": self.history,
            "config": self.cfg,
            "data": {
                "classes": list(self.data.classes),
                "mean": self.data.mean,
                "std": self.data.std,
                "image_shape": list(self.data.image_shape),
            },  # fmt: skip
        }

    def save(self, name):
        import ember

        path = os.path.join(self.out, name)
        ember.save(self.checkpoint(), path)
        return path

    def order(self, epoch):
        """The shuffle of epoch ``epoch``: a function of (seed, epoch) only."""
        return np.random.default_rng([self.cfg["seed"], epoch]).permutation(len(self.data.y_train))

    def train_epoch(self, stop):
        """Train from ``self.step`` to the end of ``self.epoch``; False when stopped early."""
        import ember.nn.functional as F

        bs, d = self.cfg["batch_size"], self.data
        order = self.order(self.epoch)
        n_batches = -(-len(order) // bs)
        bar = None
        if not self.quiet:
            from tqdm import tqdm

            bar = tqdm(total=n_batches, initial=self.step, leave=False, dynamic_ncols=True,
                       desc=f"epoch {self.epoch + 1}/{self.cfg['epochs']}")  # fmt: skip
        self.model.train()
        batches = [order[i * bs : (i + 1) * bs] for i in range(self.step, n_batches)]
        loader = iter(batch_loader(d.x_train, d.y_train, batches, self.workers))
        try:
            while self.step < n_batches:
                if stop.requested:
                    return False
                start = time.perf_counter()
                x, y = next(loader)
                if str(self.device) != "cpu":
                    x, y = x.to(self.device), y.to(self.device)
                logits = self.model(x)
                loss = F.cross_entropy(logits, y)
                self.opt.zero_grad()
                loss.backward()
                self.opt.step()
                correct = int((logits.argmax(1) == y).sum())
                self.step += 1
                self.partial[0] += float(loss) * len(y)
                self.partial[1] += correct
                self.partial[2] += len(y)
                self.partial[3] += time.perf_counter() - start
                if bar is not None:
                    bar.update(1)
                    loss_sum, correct, seen, seconds = self.partial
                    bar.set_postfix(
                        loss=f"{loss_sum / seen:.4f}", acc=f"{100 * correct / seen:.1f}%",
                        samples_s=f"{seen / seconds:.0f}",
                    )  # fmt: skip
        finally:
            del loader  # stops worker processes, also when interrupted
            if bar is not None:
                bar.close()
        return True

    def finish_epoch(self):
        loss_sum, correct, seen, seconds = self.partial
        test_loss, test_acc, _ = evaluate(self.model, self.data.x_test, self.data.y_test)
        row = {
            "epoch": self.epoch + 1,
            "train_loss": loss_sum / seen,
            "train_acc": correct / seen,
            "test_loss": test_loss,
            "test_acc": test_acc,
            "lr": self.opt.param_groups[0]["lr"],
            "seconds": seconds,
            "samples_per_s": seen / seconds if seconds > 0 else 0.0,
        }
        self.history.append(row)
        if self.sched is not None:
            self.sched.step()
        self.epoch, self.step, self.partial = self.epoch + 1, 0, [0.0, 0, 0, 0.0]
        return row


def train(cfg, out, device="cpu", quiet=False, ckpt=None, data_dir=None, download=False,
          workers=0):  # fmt: skip
    """Run (or continue) training; returns (history, exit code)."""
    from ember.cli.train_report import plot_curves, summary_table, write_metrics

    data = load_data(cfg["dataset"], data_dir, download, cfg.get("image_size", 32))
    os.makedirs(out, exist_ok=True)
    trainer = Trainer(cfg, data, out, device, quiet, ckpt, workers)
    say = (lambda *a: None) if quiet else print
    say(f"training {cfg['model']} on {cfg['dataset']} ({len(data.y_train)} train, "
        f"{len(data.y_test)} test images of {'x'.join(map(str, data.image_shape))}) "
        f"for {cfg['epochs']} epochs, seed {cfg['seed']}")  # fmt: skip
    best = max((r["test_acc"] for r in trainer.history), default=-1.0)
    with Stop() as stop:
        while trainer.epoch < cfg["epochs"]:
            if not trainer.train_epoch(stop):
                path = trainer.save("last.ckpt")
                print(f"\ninterrupted: saved {path}; continue with: ember train --resume {path}",
                      file=sys.stderr)  # fmt: skip
                return trainer.history, INTERRUPTED
            row = trainer.finish_epoch()
            say(
                f"epoch {row['epoch']:>3}/{cfg['epochs']}  train loss {row['train_loss']:.4f} "
                f"acc {100 * row['train_acc']:.2f}%  test loss {row['test_loss']:.4f} "
                f"acc {100 * row['test_acc']:.2f}%  {row['samples_per_s']:.0f} samples/s"
            )
            trainer.save("last.ckpt")
            if row["test_acc"] > best:
                best = row["test_acc"]
                trainer.save("best.ckpt")
            write_metrics(os.path.join(out, "metrics.csv"), trainer.history)
    plotted = plot_curves(os.path.join(out, "curves.png"), trainer.history)
    if not quiet:
        print("\n" + summary_table(trainer.history))
        best_row = max(trainer.history, key=lambda r: r["test_acc"])
        print(f"\nfinal test accuracy {100 * trainer.history[-1]['test_acc']:.2f}% "
              f"(best {100 * best_row['test_acc']:.2f}% at epoch {best_row['epoch']})")  # fmt: skip
        files = ["best.ckpt", "last.ckpt", "metrics.csv"] + (["curves.png"] if plotted else [])
        print(f"outputs in {out}: {', '.join(files)}")
        if not plotted:
            print("(curves.png skipped: matplotlib is not installed; pip install matplotlib)")
    return trainer.history, 0


def run(args):
    try:
        if args.resume:
            ckpt = load_checkpoint(args.resume)
            cfg = dict(ckpt["config"])
            if args.epochs is not None:
                cfg["epochs"] = args.epochs
            out = args.out if args.out != "runs/train" else os.path.dirname(args.resume) or "."
        else:
            ckpt, cfg, out = None, config_from_args(args), args.out
        if args.workers < 0:
            raise TrainError(f"--workers must be at least 0, got {args.workers}")
        _, code = train(cfg, out, args.device, args.quiet, ckpt, args.data_dir, args.download,
                        args.workers)  # fmt: skip
        return code
    except TrainError as e:
        print(f"ember train: error: {e}", file=sys.stderr)
        return 2


def main(argv=None):
    """``python -m ember.cli.train [options]``."""
    parser = argparse.ArgumentParser(prog="ember")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["train", *(sys.argv[1:] if argv is None else argv)])
    return args.run(args)
