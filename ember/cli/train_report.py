"""Outputs of ``ember train`` and ``ember evaluate``: metrics.csv, curves, tables."""

import csv
import os

import numpy as np

COLUMNS = ["epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds",
           "samples_per_s"]  # fmt: skip


def write_metrics(path, history):
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, COLUMNS)
        w.writeheader()
        for row in history:
            w.writerow({k: row[k] for k in COLUMNS})
    os.replace(tmp, path)


def pyplot_or_none():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def plot_curves(path, history):
    """Loss and accuracy per epoch, train and test; False when matplotlib is missing."""
    plt = pyplot_or_none()
    if plt is None:
        return False
    epochs = [r["epoch"] for r in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for split, style in (("train", "-o"), ("test", "-s")):
        ax_loss.plot(epochs, [r[f"{split}_loss"] for r in history], style, label=split)
        ax_acc.plot(epochs, [100 * r[f"{split}_acc"] for r in history], style, label=split)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.get_major_locator().set_params(integer=True)  # whole epochs only
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def table(headers, rows):
    """A plain-text table with right-aligned columns."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def summary_table(history):
    rows = [
        (r["epoch"], f"{r['train_loss']:.4f}", f"{100 * r['train_acc']:.2f}%",
         f"{r['test_loss']:.4f}", f"{100 * r['test_acc']:.2f}%", f"{r['samples_per_s']:.0f}",
         f"{r['seconds']:.1f}")
        for r in history
    ]  # fmt: skip
    headers = ["epoch", "train loss", "train acc", "test loss", "test acc", "samples/s", "s"]
    return table(headers, rows)


def confusion_matrix(labels, predictions, n):
    m = np.zeros((n, n), np.int64)
    np.add.at(m, (labels, predictions), 1)
    return m


def plot_confusion(path, matrix, classes):
    plt = pyplot_or_none()
    if plt is None:
        return False
    n = len(classes)
    fig, ax = plt.subplots(figsize=(1 + 0.6 * n, 1 + 0.5 * n))
    ax.imshow(matrix, cmap="Blues")
    ax.set(xticks=range(n), yticks=range(n), xlabel="predicted", ylabel="true")
    ax.set_xticklabels(classes, rotation=45, ha="right")
    ax.set_yticklabels(classes)
    for i in range(n):
        for j in range(n):
            color = "white" if matrix[i, j] > matrix.max() / 2 else "black"
            ax.text(j, i, matrix[i, j], ha="center", va="center", color=color, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
