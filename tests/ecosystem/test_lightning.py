"""Lightning on ember: a LightningModule trained by ``Trainer.fit`` with logged metrics, its model
summary's FLOPs, a checkpoint written by ``ModelCheckpoint`` and read back by
``load_from_checkpoint``, ``Trainer.validate`` and ``Trainer.test``, and fitting resumed from
that checkpoint with ``fit(ckpt_path=...)``, against the same script on PyTorch."""

import textwrap

import numpy as np
import pytest

from tests.ecosystem.conftest import _run

pytest.importorskip("lightning")

SCRIPT = """
import json
import os
import tempfile
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
import lightning as L
from lightning.pytorch.utilities.model_summary import ModelSummary


class Classifier(L.LightningModule):
    def __init__(self, hidden=8, lr=0.2):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(4, hidden), nn.Tanh(), nn.Linear(hidden, 2))
        self.history = []

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.cross_entropy(self(x), y)
        self.log("train_loss", loss)
        self.history.append(("train", loss.item()))
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        loss = nn.functional.cross_entropy(logits, y)
        acc = (logits.argmax(-1) == y).float().mean()
        self.log("val_loss", loss)
        self.log("val_acc", acc)
        self.history.append(("val", loss.item()))

    def test_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        self.log("test_loss", nn.functional.cross_entropy(logits, y))
        self.log("test_acc", (logits.argmax(-1) == y).float().mean())

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=0.5)


features = (torch.arange(64 * 4, dtype=torch.float32).reshape(64, 4) * 0.37).sin()
labels = (features[:, 0] + features[:, 1] > 0).long()
train = DataLoader(TensorDataset(features[:48], labels[:48]), batch_size=16)
val = DataLoader(TensorDataset(features[48:], labels[48:]), batch_size=8)

model = Classifier()
with torch.no_grad():  # the same weights in both libraries
    for p in model.parameters():
        p.copy_((torch.arange(p.numel(), dtype=torch.float32).reshape(p.shape) * 0.9).cos() / 3)
trainer = L.Trainer(max_epochs=2, accelerator="cpu", logger=False, enable_checkpointing=False,
                    enable_progress_bar=False, enable_model_summary=False)
trainer.fit(model, train, val)
out = {
    "history": model.history,
    "metrics": {k: v.item() for k, v in trainer.callback_metrics.items()},
    "weights": {k: v.tolist() for k, v in model.state_dict().items()},
    "global_step": trainer.global_step,
}

model.example_input_array = features[:5]
summary = ModelSummary(model, max_depth=2)
out["summary"] = {
    "total_flops": summary.total_flops,
    "total_parameters": summary.total_parameters,
    "layer_flops": {name: {str(op): n for op, n in ops.items()}
                    for name, ops in summary.flop_counts.items()},
}

ckpt_trainer = L.Trainer(max_epochs=1, accelerator="cpu", logger=False,
                         default_root_dir=tempfile.mkdtemp(), enable_progress_bar=False,
                         enable_model_summary=False)
ckpt_trainer.fit(model, train, val)
path = ckpt_trainer.checkpoint_callback.best_model_path
restored = Classifier.load_from_checkpoint(path)
out["checkpoint"] = {
    "file": os.path.basename(path),
    "hparams": dict(restored.hparams),
    "same_weights": all(torch.equal(a, b) for a, b in
                        zip(model.state_dict().values(), restored.state_dict().values())),
    "weights": {k: v.tolist() for k, v in restored.state_dict().items()},
    "epoch": torch.load(path, weights_only=False)["epoch"],
}

# evaluation loops, then fitting resumed from the checkpoint file up to three epochs
eval_trainer = L.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False,
                         enable_model_summary=False)
out["validate"] = eval_trainer.validate(restored, val, verbose=False)
out["test"] = eval_trainer.test(restored, DataLoader(TensorDataset(features, labels),
                                                     batch_size=16), verbose=False)
resumed = Classifier()
resume_trainer = L.Trainer(max_epochs=3, accelerator="cpu", logger=False,
                           enable_checkpointing=False, enable_progress_bar=False,
                           enable_model_summary=False)
resume_trainer.fit(resumed, train, val, ckpt_path=path)
out["resumed"] = {
    "global_step": resume_trainer.global_step,
    "epoch": resume_trainer.current_epoch,
    "history": resumed.history,
    "weights": {k: v.tolist() for k, v in resumed.state_dict().items()},
    "momentum": [s["momentum_buffer"].tolist()
                 for s in resume_trainer.optimizers[0].state.values()],
}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """The script's JSON under ember run and under torch, computed once for the tests here."""
    script = tmp_path_factory.mktemp("lightning") / "user_script.py"
    script.write_text(textwrap.dedent(SCRIPT))
    return _run(script, under_ember=True), _run(script, under_ember=False)


def test_lightning_fit_and_checkpoint_match_torch(results):
    ours, theirs = results
    assert [kind for kind, _ in ours["history"]] == [kind for kind, _ in theirs["history"]]
    np.testing.assert_allclose(
        [loss for _, loss in ours["history"]], [loss for _, loss in theirs["history"]], rtol=1e-5
    )
    assert ours["metrics"].keys() == theirs["metrics"].keys()
    for name, value in theirs["metrics"].items():
        np.testing.assert_allclose(ours["metrics"][name], value, rtol=1e-5)
    assert ours["global_step"] == theirs["global_step"] == 6
    for name, value in theirs["weights"].items():
        np.testing.assert_allclose(ours["weights"][name], value, rtol=1e-5, atol=1e-6)
    assert ours["summary"] == theirs["summary"]
    # the checkpoint ModelCheckpoint wrote, read back by load_from_checkpoint
    mine, reference = ours["checkpoint"], theirs["checkpoint"]
    assert mine["same_weights"] and reference["same_weights"]
    for key in ("file", "hparams", "epoch"):
        assert mine[key] == reference[key]
    for name, value in reference["weights"].items():
        np.testing.assert_allclose(mine["weights"][name], value, rtol=1e-5, atol=1e-6)


def test_lightning_validate_test_and_resume_match_torch(results):
    ours, theirs = results
    for loop, names in (("validate", {"val_loss", "val_acc"}), ("test", {"test_loss", "test_acc"})):
        assert len(ours[loop]) == len(theirs[loop]) == 1
        assert ours[loop][0].keys() == theirs[loop][0].keys() == names
        for name, value in theirs[loop][0].items():
            np.testing.assert_allclose(ours[loop][0][name], value, rtol=1e-5)
    mine, reference = ours["resumed"], theirs["resumed"]
    # the checkpoint ended epoch 0 after 3 steps: two more epochs of 3 steps each
    assert mine["global_step"] == reference["global_step"] == 9
    assert mine["epoch"] == reference["epoch"] == 3
    assert [kind for kind, _ in mine["history"]] == [kind for kind, _ in reference["history"]]
    np.testing.assert_allclose(
        [loss for _, loss in mine["history"]],
        [loss for _, loss in reference["history"]],
        rtol=1e-5,
    )
    for name, value in reference["weights"].items():
        np.testing.assert_allclose(mine["weights"][name], value, rtol=1e-5, atol=1e-6)
    assert len(mine["momentum"]) == len(reference["momentum"]) == 4
    for a, b in zip(mine["momentum"], reference["momentum"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
