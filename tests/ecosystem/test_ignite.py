"""PyTorch-Ignite on ember: a supervised trainer and evaluator with metrics and event handlers,
against the same script on PyTorch."""

import numpy as np
import pytest

pytest.importorskip("ignite")

SCRIPT = """
import json
import torch
from torch import nn
from ignite.engine import Events, create_supervised_evaluator, create_supervised_trainer
from ignite.metrics import Accuracy, Loss

features = (torch.arange(64 * 4, dtype=torch.float32).reshape(64, 4) * 0.37).sin()
labels = (features[:, 0] + features[:, 1] > 0).long()
batches = [(features[i:i + 16], labels[i:i + 16]) for i in range(0, 64, 16)]
model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
with torch.no_grad():  # the same weights in both libraries
    for p in model.parameters():
        p.copy_((torch.arange(p.numel(), dtype=torch.float32).reshape(p.shape) * 0.9).cos() / 3)
optimizer = torch.optim.SGD(model.parameters(), lr=0.3, momentum=0.5)
trainer = create_supervised_trainer(model, optimizer, nn.CrossEntropyLoss())
evaluator = create_supervised_evaluator(
    model, metrics={"accuracy": Accuracy(), "loss": Loss(nn.CrossEntropyLoss())})
losses, epochs = [], []

@trainer.on(Events.ITERATION_COMPLETED)
def record(engine):
    losses.append(engine.state.output)

@trainer.on(Events.EPOCH_COMPLETED)
def evaluate(engine):
    evaluator.run(batches)
    epochs.append(dict(evaluator.state.metrics))

trainer.run(batches, max_epochs=4)
print(json.dumps({"losses": losses, "epochs": epochs,
                  "weight": model[0].weight.detach().tolist()}))
"""


def test_ignite_training_matches_torch(run_under_both):
    ours, theirs = run_under_both(SCRIPT)
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours["weight"], theirs["weight"], rtol=1e-4, atol=1e-5)
    assert len(ours["epochs"]) == len(theirs["epochs"]) == 4
    for mine, reference in zip(ours["epochs"], theirs["epochs"]):
        assert mine["accuracy"] == reference["accuracy"]
        np.testing.assert_allclose(mine["loss"], reference["loss"], rtol=1e-4)
