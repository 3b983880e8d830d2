"""``ember evaluate CHECKPOINT``: test accuracy, per-class accuracy and the confusion matrix of
a model saved by ``ember train``, plus ``confusion.png``.

The test images are normalised with the mean and standard deviation stored in the checkpoint,
so the numbers are those of the model as it was trained.
"""

import os
import sys

import numpy as np

from ember.cli.train_data import TrainError, load_data


def add_parser(sub):
    p = sub.add_parser(
        "evaluate",
        help="test accuracy, per-class table and confusion matrix of a checkpoint",
        description="Evaluate a checkpoint written by `ember train` on its data set's test "
        "split: accuracy, a per-class accuracy table, a confusion matrix and confusion.png.",
    )
    p.add_argument("checkpoint", help="a .ckpt file written by ember train")
    p.add_argument("--data-dir", help="folder holding the data set files")
    p.add_argument("--out", help="folder for confusion.png (default: the checkpoint's folder)")
    p.add_argument("--batch-size", type=int, default=512)
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.set_defaults(run=run)


def load_model(ckpt, device="cpu"):
    """The model of a checkpoint, with its weights, in eval mode."""
    from ember.cli.train import build_model

    cfg, meta = ckpt["config"], ckpt["data"]
    model = build_model(cfg["model"], len(meta["classes"]), tuple(meta["image_shape"]))
    try:
        model.load_state_dict(ckpt["model"])
    except (RuntimeError, KeyError, ValueError, TypeError) as e:
        detail = " ".join(str(e).split())  # load_state_dict's message spans lines
        raise TrainError(
            f"the checkpoint's weights do not fit model {cfg['model']!r}: {detail}"
        ) from e
    return model.to(device).eval()


def per_class_rows(matrix, classes):
    rows = []
    for i, name in enumerate(classes):
        n, correct = int(matrix[i].sum()), int(matrix[i, i])
        acc = f"{100 * correct / n:.2f}%" if n else "-"
        rows.append((i, name, n, correct, acc))
    return rows


def report(matrix, classes, loss):
    """Accuracy line, per-class table and confusion matrix as text."""
    from ember.cli.train_report import table

    total, correct = int(matrix.sum()), int(np.trace(matrix))
    lines = [
        f"test accuracy {100 * correct / max(total, 1):.2f}% ({correct}/{total}), loss {loss:.4f}",
        "",
        "per-class accuracy:",
        table(["#", "class", "images", "correct", "accuracy"], per_class_rows(matrix, classes)),
        "",
        "confusion matrix (rows: true class, columns: predicted class):",
        table(["true\\pred", *range(len(classes))], [(i, *r) for i, r in enumerate(matrix)]),
    ]
    return "\n".join(lines)


def evaluate_checkpoint(path, data_dir=None, device="cpu", batch_size=512):
    """(checkpoint, classes, labels, predictions, mean loss) of ``path`` on its test split."""
    from ember.cli.train import check_device, evaluate, load_checkpoint

    device = check_device(device)
    ckpt = load_checkpoint(path)
    cfg, meta = ckpt["config"], ckpt["data"]
    data = load_data(cfg["dataset"], data_dir, False, cfg.get("image_size", 32),
                     stats=(meta["mean"], meta["std"]))  # fmt: skip
    if list(data.classes) != list(meta["classes"]):
        raise TrainError(f"the {cfg['dataset']} data found has classes {data.classes}, the "
                         f"checkpoint was trained on {meta['classes']}")  # fmt: skip
    if list(data.image_shape) != list(meta["image_shape"]):
        raise TrainError(f"the {cfg['dataset']} images are {tuple(data.image_shape)}, the "
                         f"checkpoint expects {tuple(meta['image_shape'])}")  # fmt: skip
    model = load_model(ckpt, device)
    loss, _, preds = evaluate(model, data.x_test, data.y_test, batch_size)
    return ckpt, list(meta["classes"]), data.y_test, preds, loss


def run(args):
    from ember.cli.train import check_out_folder
    from ember.cli.train_report import confusion_matrix, plot_confusion

    try:
        if args.batch_size < 1:
            raise TrainError(f"--batch-size must be at least 1, got {args.batch_size}")
        ckpt, classes, labels, preds, loss = evaluate_checkpoint(
            args.checkpoint, args.data_dir, args.device, args.batch_size
        )
        cfg = ckpt["config"]
        epochs = f"{ckpt['epoch']} epoch{'s' if ckpt['epoch'] != 1 else ''}"
        print(f"{args.checkpoint}: {cfg['model']} trained on {cfg['dataset']} for {epochs}, "
              f"evaluated on {len(labels)} test images")  # fmt: skip
        matrix = confusion_matrix(labels, preds, len(classes))
        print(report(matrix, classes, loss))
        out = args.out or os.path.dirname(os.path.abspath(args.checkpoint))
        check_out_folder(out)
        picture = os.path.join(out, "confusion.png")
        if plot_confusion(picture, matrix, classes):
            print(f"confusion matrix picture: {picture}")
        else:
            print("(confusion.png skipped: matplotlib is not installed; pip install matplotlib)")
        return 0
    except TrainError as e:
        print(f"ember evaluate: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # writing confusion.png
        where = f" {e.filename}" if e.filename else ""
        print(f"ember evaluate: error: cannot write{where}: {e.strerror or e}", file=sys.stderr)
        return 2
