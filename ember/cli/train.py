"""``ember train``: train an image classifier, with checkpoints, resume and curves.

With no arguments it trains a small CNN on the handwritten digits shipped with ember.
Every run is reproducible from ``--seed``: epoch e shuffles with a generator seeded by
(seed, e), and a checkpoint holds the model, optimiser, scheduler, ember's random state and
the position inside the epoch, so ``--resume`` continues exactly where a run stopped (also
after Ctrl-C, which saves a checkpoint before exiting).
"""

import math
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
# Settings a resumed run takes from its checkpoint; None in the parsed options means "not given".
SETTING_DEFAULTS = dict(dataset="digits", optimizer="adam", scheduler="cosine", weight_decay=0.0,
                        seed=0, image_size=32)  # fmt: skip
MAX_SEED = 2**63 - 1


def add_parser(sub):
    p = sub.add_parser(
        "train",
        help="train an image classifier (digits by default)",
        description="Train an image classifier. With no options: a small CNN on the "
        "handwritten digits shipped with ember, in well under a minute.",
    )
    p.add_argument("--dataset", help=f"one of {', '.join(DATASETS)} (default: digits)")
    p.add_argument("--data-dir", help="folder holding the data set files")
    p.add_argument("--download", action="store_true", help="download missing data set files")
    p.add_argument("--model", help=f"one of {', '.join(MODELS)} (default: cnn)")
    p.add_argument("--epochs", type=int, help="number of epochs (default per data set)")
    p.add_argument("--batch-size", type=int, help="batch size (default per data set)")
    p.add_argument("--lr", type=float, help="learning rate (default per data set)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, help="default: adam")
    p.add_argument("--scheduler", choices=SCHEDULERS, help="default: cosine")
    p.add_argument("--weight-decay", type=float, help="default: 0")
    p.add_argument("--workers", type=int, default=0,
                   help="DataLoader worker processes (default 0: none)")  # fmt: skip
    p.add_argument("--image-size", type=int, help="side for imagefolder images (default: 32)")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.add_argument("--seed", type=int, help="default: 0")
    p.add_argument("--out", help="output folder (default: runs/train, or the folder of the "
                   "checkpoint given to --resume)")  # fmt: skip
    p.add_argument("--resume", metavar="CHECKPOINT",
                   help="continue the run saved in CHECKPOINT, with its settings; --epochs may "
                   "raise the number of epochs")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines")
    p.set_defaults(run=run)


# ------------------------------------------------------------------ set-up


def build_model(name, num_classes, image_shape):
    from ember.vision import models

    channels, side = image_shape[0], image_shape[1]
    if name == "cnn":
        try:
            return models.SimpleCNN(num_classes, channels, side)
        except ValueError as e:  # a side it cannot pool down evenly
            raise TrainError(f"{e} (set --image-size)") from None
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
    """The run's settings: explicit options, else the defaults (some per data set)."""
    given = {k: getattr(args, k) for k in SETTING_DEFAULTS if getattr(args, k) is not None}
    cfg = {**SETTING_DEFAULTS, **given}
    cfg = {**DEFAULTS[dataset_kind(cfg["dataset"])], **cfg}
    for key in ("model", "epochs", "batch_size", "lr"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    check_config(cfg)
    return cfg


def _option(key):
    return "--" + key.replace("_", "-")


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def check_config(cfg):
    """Raise TrainError unless every setting of ``cfg`` is usable (from options or a checkpoint)."""
    for key in ("dataset", "model", "optimizer", "scheduler", "epochs", "batch_size", "lr",
                "weight_decay", "seed", "image_size"):  # fmt: skip
        if key not in cfg:
            raise TrainError(f"the settings lack {key!r}")
    dataset_kind(cfg["dataset"])
    for key, choices in (("model", MODELS), ("optimizer", OPTIMIZERS), ("scheduler", SCHEDULERS)):
        if cfg[key] not in choices:
            raise TrainError(f"unknown {key} {cfg[key]!r}; choose from {', '.join(choices)}")
    for key, low, high in (("epochs", 1, None), ("batch_size", 1, None), ("image_size", 8, None),
                           ("seed", 0, MAX_SEED)):  # fmt: skip
        value = cfg[key]
        if not _is_int(value) or value < low or (high is not None and value > high):
            bound = f"of at least {low}" + ("" if high is None else f" and at most {high}")
            raise TrainError(f"{_option(key)} must be an integer {bound}, got {value!r}")
    lr, decay = cfg["lr"], cfg["weight_decay"]
    if not isinstance(lr, int | float) or not (math.isfinite(lr) and lr > 0):
        raise TrainError(f"--lr must be a positive finite number, got {lr!r}")
    if not isinstance(decay, int | float) or not (math.isfinite(decay) and decay >= 0):
        raise TrainError(f"--weight-decay must be a finite number of at least 0, got {decay!r}")


def check_device(name):
    """The device ``name`` names, if ember can use it here; else TrainError."""
    import ember

    try:
        dev = ember.device(name)
    except (RuntimeError, TypeError, ValueError):
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda"):
        raise TrainError(f"--device must be cpu or cuda[:N], got {name!r}")
    try:
        ember.zeros(1).to(dev)
    except Exception as e:  # whatever the backend reports: no GPU, no CuPy, a bad index
        reason = " ".join(str(e).split()) or type(e).__name__
        raise TrainError(f"cannot use device {name!r}: {reason}") from None
    return dev


def check_out_folder(out):
    """Create the output folder ``out`` now, so an unusable one fails before any training."""
    if os.path.exists(out) and not os.path.isdir(out):
        raise TrainError(f"--out {out} is a file, not a folder")
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise TrainError(f"cannot create the output folder {out}: {e.strerror or e}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise TrainError(f"cannot write in the output folder {out}: permission denied")


def load_checkpoint(path):
    import ember
    from ember.serialization import CheckpointError

    if not os.path.isfile(path):
        raise TrainError(f"no checkpoint at {path}")
    try:
        # Tensors saved on a GPU (or any device) come back on the CPU; the run moves them.
        ckpt = ember.load(path, map_location="cpu")
    except (CheckpointError, OSError, ValueError, TypeError) as e:
        raise TrainError(f"cannot read checkpoint {path}: {' '.join(str(e).split())}") from e
    needed = ("model", "optimizer", "config", "epoch", "step", "history", "rng", "data")
    if not isinstance(ckpt, dict) or any(k not in ckpt for k in needed):
        missing = [k for k in needed if k not in ckpt] if isinstance(ckpt, dict) else needed
        raise TrainError(f"{path} is not a checkpoint written by ember train (it lacks "
                         f"{', '.join(map(repr, missing))})")  # fmt: skip
    try:
        check_checkpoint(ckpt)
    except TrainError as e:
        raise TrainError(f"{path} is not a usable ember train checkpoint: {e}") from None
    return ckpt


def check_checkpoint(ckpt):
    """Raise TrainError unless the parts of ``ckpt`` have the types ember train writes."""
    import ember
    from ember.cli.train_report import COLUMNS

    if not isinstance(ckpt["config"], dict):
        raise TrainError("its settings are not a dict")
    check_config(ckpt["config"])
    for key in ("epoch", "step"):
        if not _is_int(ckpt[key]) or ckpt[key] < 0:
            raise TrainError(f"{key} must be an integer of at least 0, got {ckpt[key]!r}")
    partial = ckpt.get("partial", [0.0, 0, 0, 0.0])
    if not (isinstance(partial, list | tuple) and len(partial) == 4
            and all(isinstance(v, int | float) for v in partial)):  # fmt: skip
        raise TrainError(f"partial must be 4 numbers, got {partial!r:.80}")
    history = ckpt["history"]
    if not isinstance(history, list) or not all(
        isinstance(r, dict) and all(isinstance(r.get(c), int | float) for c in COLUMNS)
        for r in history
    ):
        raise TrainError(f"history must be a list of rows with {', '.join(COLUMNS)}")
    for key in ("model", "optimizer"):
        if not isinstance(ckpt[key], dict):
            raise TrainError(f"{key} must be a state dict, got {type(ckpt[key]).__name__}")
    if not isinstance(ckpt["rng"], ember.Tensor):
        raise TrainError(f"rng must be a tensor, got {type(ckpt['rng']).__name__}")
    data = ckpt["data"]
    if not (isinstance(data, dict) and isinstance(data.get("classes"), list)
            and isinstance(data.get("image_shape"), list) and len(data["image_shape"]) == 3
            and all(_is_int(n) and n > 0 for n in data["image_shape"])
            and all(isinstance(data.get(k), list) and len(data[k]) == data["image_shape"][0]
                    for k in ("mean", "std"))):  # fmt: skip
        raise TrainError("data must hold classes, image_shape (C, H, W), and a mean and std "
                         "per channel")  # fmt: skip


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
        self.model.to(device)
        self.device = device
        self.opt = build_optimizer(cfg["optimizer"], self.model.parameters(), cfg["lr"],
                                   cfg["weight_decay"])  # fmt: skip
        self.sched = build_scheduler(cfg["scheduler"], self.opt, cfg["epochs"])
        self.epoch, self.step, self.partial, self.history = 0, 0, [0.0, 0, 0, 0.0], []
        if ckpt is not None:
            try:
                self.restore(ckpt)
            except Exception as e:  # a corrupt part: whatever the loader of that part raises
                detail = " ".join(str(e).split())  # load_state_dict's message spans lines
                raise TrainError(
                    f"cannot resume from the checkpoint: {type(e).__name__}: {detail}"
                ) from None

    def restore(self, ckpt):
        import ember

        self.model.load_state_dict(ckpt["model"])
        self.opt.load_state_dict(ckpt["optimizer"])
        if self.sched is not None and ckpt.get("scheduler") is not None:
            self.sched.load_state_dict(ckpt["scheduler"])
        ember.set_rng_state(ckpt["rng"])
        self.epoch, self.step = ckpt["epoch"], ckpt["step"]
        self.partial = list(ckpt.get("partial", self.partial))
        self.history = list(ckpt["history"])
        batches = -(-len(self.data.y_train) // self.cfg["batch_size"])
        if self.step >= batches or len(self.history) != self.epoch:
            raise ValueError(
                f"epoch {self.epoch}, step {self.step} and {len(self.history)} "
                f"history rows do not describe a run of {batches} steps per epoch"
            )

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
        """Write checkpoint ``name``; ember.save replaces the file atomically, so a failed write
        (a full disk) leaves the previous checkpoint intact."""
        import ember

        path = os.path.join(self.out, name)
        try:
            ember.save(self.checkpoint(), path)
        except OSError as e:
            raise TrainError(f"cannot write {path}: {e.strerror or e}") from None
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

    data = load_data(cfg["dataset"], data_dir, download, cfg["image_size"])
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


def resumed_config(args, ckpt):
    """The checkpoint's settings, with ``--epochs`` when given; other settings cannot change."""
    changed = [k for k in (*SETTING_DEFAULTS, "model", "batch_size", "lr")
               if getattr(args, k) is not None]  # fmt: skip
    if changed:
        raise TrainError(f"{', '.join(map(_option, changed))} cannot change when resuming: the "
                         "run continues with the settings saved in its checkpoint")  # fmt: skip
    cfg = dict(ckpt["config"])
    if args.epochs is not None:
        cfg["epochs"] = args.epochs
        check_config(cfg)
    return cfg


def run(args):
    try:
        if args.workers < 0:
            raise TrainError(f"--workers must be at least 0, got {args.workers}")
        if args.resume:
            ckpt = load_checkpoint(args.resume)
            cfg = resumed_config(args, ckpt)
            out = args.out or os.path.dirname(args.resume) or "."
        else:
            ckpt, cfg, out = None, config_from_args(args), args.out or "runs/train"
        device = check_device(args.device)
        check_out_folder(out)
        _, code = train(cfg, out, device, args.quiet, ckpt, args.data_dir, args.download,
                        args.workers)  # fmt: skip
        return code
    except TrainError as e:
        print(f"ember train: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # writing metrics.csv or curves.png: a full disk, a vanished folder
        where = f" {e.filename}" if e.filename else ""
        print(f"ember train: error: cannot write{where}: {e.strerror or e}", file=sys.stderr)
        return 2
