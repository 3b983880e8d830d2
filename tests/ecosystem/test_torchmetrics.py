"""torchmetrics on ember: classification and regression metrics in functional and module form,
updated over batches, computed and reset, against the same script on PyTorch."""

import numpy as np
import pytest

pytest.importorskip("torchmetrics")

SCRIPT = """
import json
import torch
import torchmetrics
import torchmetrics.functional as F
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy

n, classes = 48, 4
logits = (torch.arange(n * classes, dtype=torch.float32).reshape(n, classes) * 0.71).sin()
target = (torch.arange(n) * 7 % classes).long()
binary_scores = (torch.arange(n, dtype=torch.float32) * 0.37).cos() * 0.5 + 0.5
binary_target = (torch.arange(n) * 5 % 3 == 0).long()
preds_reg = (torch.arange(n, dtype=torch.float32) * 0.3).sin()
target_reg = (torch.arange(n, dtype=torch.float32) * 0.2).cos()

out = {"functional": {
    "accuracy": F.accuracy(logits, target, task="multiclass", num_classes=classes).item(),
    "f1": F.f1_score(logits, target, task="multiclass", num_classes=classes,
                     average="macro").item(),
    "mse": F.mean_squared_error(preds_reg, target_reg).item(),
    "auroc": F.auroc(binary_scores, binary_target, task="binary").item(),
    "auroc_mc": F.auroc(logits.softmax(-1), target, task="multiclass", num_classes=classes).item(),
    "confmat": F.confusion_matrix(logits, target, task="multiclass", num_classes=classes).tolist(),
}}

metrics = {
    "accuracy": torchmetrics.Accuracy(task="multiclass", num_classes=classes),
    "f1": torchmetrics.F1Score(task="multiclass", num_classes=classes, average="macro"),
    "confmat": torchmetrics.ConfusionMatrix(task="multiclass", num_classes=classes),
}
mse = torchmetrics.MeanSquaredError()
auroc = torchmetrics.AUROC(task="binary")
batches = []
for epoch in range(2):
    per_batch = []
    for i in range(0, n, 16):
        sl = slice(i, i + 16 - 4 * epoch)
        step = {k: m(logits[sl], target[sl]) for k, m in metrics.items()}
        step["mse"] = mse(preds_reg[sl], target_reg[sl])
        step["auroc"] = auroc(binary_scores[sl], binary_target[sl])
        per_batch.append({k: v.tolist() for k, v in step.items()})
    total = {k: m.compute().tolist() for k, m in metrics.items()}
    total["mse"] = mse.compute().item()
    total["auroc"] = auroc.compute().item()
    batches.append({"per_batch": per_batch, "total": total})
    for m in [*metrics.values(), mse, auroc]:
        m.reset()

collection = MetricCollection({
    "acc": MulticlassAccuracy(num_classes=classes),
    "f1": torchmetrics.F1Score(task="multiclass", num_classes=classes),
})
collection.update(logits, target)
out["collection"] = {k: v.item() for k, v in collection.compute().items()}
out["epochs"] = batches
print(json.dumps(out))
"""


def max_abs_diff(ours, theirs, where="result"):
    """The largest difference between two JSON results of the same structure."""
    if isinstance(ours, dict):
        assert ours.keys() == theirs.keys(), where
        return max((max_abs_diff(ours[k], theirs[k], f"{where}/{k}") for k in ours), default=0.0)
    if isinstance(ours, list) and ours and isinstance(ours[0], dict):
        assert len(ours) == len(theirs), where
        return max(max_abs_diff(a, b, where) for a, b in zip(ours, theirs))
    a, b = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    assert a.shape == b.shape, where
    return float(np.max(np.abs(a - b), initial=0.0))


def test_torchmetrics_match_torch(run_under_both):
    ours, theirs = run_under_both(SCRIPT)
    assert ours["functional"]["confmat"] == theirs["functional"]["confmat"]
    for mine, reference in zip(ours["epochs"], theirs["epochs"]):
        assert mine["total"]["confmat"] == reference["total"]["confmat"]
    assert max_abs_diff(ours, theirs) < 1e-6
