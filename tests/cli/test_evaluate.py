"""``ember evaluate``: the printed numbers against a forward pass in torch, clean errors."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

import ember
from ember.cli import main as cli
from ember.cli import train_report
from ember.vision.datasets import Digits

ENV = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.dirname(__file__)))}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("run"))
    assert cli.main(["train", "--out", out, "--epochs", "1", "--quiet", "--seed", "3"]) == 0
    return out


def torch_cnn(state):
    """``ember train``'s default CNN written in torch, loaded with the checkpoint's weights."""

    def block(cin, cout):
        return torch.nn.Sequential(
            torch.nn.Conv2d(cin, cout, 3, padding=1, bias=False),
            torch.nn.BatchNorm2d(cout),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
        )

    width = state["features.0.0.weight"].shape[0]
    hidden, flat = state["classifier.1.weight"].shape
    model = torch.nn.Sequential()
    model.features = torch.nn.Sequential(block(1, width), block(width, 2 * width))
    model.classifier = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(flat, hidden),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.25),
        torch.nn.Linear(hidden, 10),
    )
    model.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in state.items()})
    return model.eval()


def torch_predictions(ckpt_path):
    """Predictions on the digits test split, computed from the checkpoint with torch."""
    ckpt = ember.load(ckpt_path)
    test = Digits(train=False)
    x = test.data.numpy().astype(np.float64)[:, None] / 255
    mean, std = ckpt["data"]["mean"][0], ckpt["data"]["std"][0]
    x = torch.from_numpy(((x - mean) / std).astype(np.float32))
    with torch.no_grad():
        preds = torch_cnn(ckpt["model"])(x).argmax(1).numpy()
    return test.targets.numpy(), preds


def evaluate(capsys, *args):
    code = cli.main(["evaluate", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_numbers_match_torch(run_dir, tmp_path, capsys):
    labels, preds = torch_predictions(os.path.join(run_dir, "last.ckpt"))
    code, out, _ = evaluate(capsys, os.path.join(run_dir, "last.ckpt"), "--out", str(tmp_path))
    assert code == 0
    correct = int((labels == preds).sum())
    assert f"test accuracy {100 * correct / len(labels):.2f}% ({correct}/{len(labels)})" in out
    # Per-class table: "#  class  images  correct  accuracy" rows.
    for c in range(10):
        n, ok = int((labels == c).sum()), int(((labels == c) & (preds == c)).sum())
        row = rf"^\s*{c}\s+{c}\s+{n}\s+{ok}\s+{100 * ok / n:.2f}%$"
        assert re.search(row, out, re.M), (c, out)
    # Confusion matrix: the ten lines after its header rule.
    body = out.split("columns: predicted class):\n")[1].splitlines()[2:12]
    printed = np.array([[int(v) for v in line.split()[1:]] for line in body])
    expected = np.zeros((10, 10), int)
    np.add.at(expected, (labels, preds), 1)
    np.testing.assert_array_equal(printed, expected)
    if train_report.pyplot_or_none() is not None:
        with open(tmp_path / "confusion.png", "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_without_matplotlib_says_so_in_one_line(run_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(train_report, "pyplot_or_none", lambda: None)
    code, out, _ = evaluate(capsys, os.path.join(run_dir, "best.ckpt"), "--out", str(tmp_path))
    assert code == 0
    skipped = [line for line in out.splitlines() if "confusion.png skipped" in line]
    assert skipped == [
        "(confusion.png skipped: matplotlib is not installed; pip install matplotlib)"
    ]
    assert not (tmp_path / "confusion.png").exists()


def test_bad_checkpoints_give_one_clean_line(run_dir, tmp_path):
    truncated = tmp_path / "truncated.ckpt"
    with open(os.path.join(run_dir, "last.ckpt"), "rb") as f:
        truncated.write_bytes(f.read(200))
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(b"\x00" * 64)
    other = tmp_path / "other.ckpt"
    ember.save({"weights": ember.zeros(3)}, str(other))
    cases = [
        (tmp_path / "missing.ckpt", "no checkpoint at"),
        (truncated, "cannot read checkpoint"),
        (garbage, "cannot read checkpoint"),
        (other, "is not a checkpoint written by ember train"),
    ]
    for path, message in cases:
        r = subprocess.run([sys.executable, "-m", "ember.cli.main", "evaluate", str(path)],
                           env=ENV, capture_output=True, text=True, timeout=60)  # fmt: skip
        assert r.returncode == 2, (path, r.stderr)
        assert r.stderr.startswith("ember evaluate: error: ") and message in r.stderr, r.stderr
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_weights_that_do_not_fit_the_model(run_dir, tmp_path, capsys):
    ckpt = ember.load(os.path.join(run_dir, "last.ckpt"))
    ckpt["model"]["classifier.4.weight"] = ember.zeros(3, 3)
    path = str(tmp_path / "wrong.ckpt")
    ember.save(ckpt, path)
    code, _, err = evaluate(capsys, path)
    assert code == 2 and "do not fit model 'cnn'" in err and len(err.strip().splitlines()) == 1


def test_unusable_device_and_output_give_one_line(run_dir, tmp_path, capsys):
    ckpt = os.path.join(run_dir, "last.ckpt")
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    cases = [
        (["--device", "meta"], "--device must be cpu or cuda[:N], got 'meta'"),
        (["--out", str(a_file)], "is a file, not a folder"),
        (["--batch-size", "0"], "--batch-size must be at least 1"),
    ]
    if not ember.cuda.is_available():
        cases.append((["--device", "cuda"], "cannot use device 'cuda'"))
    for args, message in cases:
        code, _, err = evaluate(capsys, ckpt, *args)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


def saved_by_torch(ckpt, path, location):
    """``ckpt`` written by PyTorch, its weights on the meta device or tagged ``location``."""
    from torch import serialization

    def convert(obj):
        if isinstance(obj, ember.Tensor):
            t = torch.from_numpy(obj.numpy().copy())
            return t.to("meta") if location == "meta" else t
        if isinstance(obj, dict):
            return {k: convert(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return type(obj)(convert(v) for v in obj)
        return obj

    converted = convert(ckpt)
    if location == "meta":
        converted["rng"] = torch.from_numpy(ckpt["rng"].numpy().copy())
    registry = list(serialization._package_registry)
    serialization.register_package(
        0, lambda s: location if s.device.type == "cpu" else None, lambda s, loc: None
    )
    try:
        torch.save(converted, path)
    finally:
        serialization._package_registry[:] = registry


def test_checkpoint_saved_on_a_gpu_is_evaluated_on_the_cpu(run_dir, tmp_path, capsys):
    ckpt = ember.load(os.path.join(run_dir, "last.ckpt"))
    path = str(tmp_path / "gpu.ckpt")
    saved_by_torch(ckpt, path, "cuda:0")
    labels, preds = torch_predictions(os.path.join(run_dir, "last.ckpt"))
    code, out, err = evaluate(capsys, path, "--out", str(tmp_path))
    assert code == 0, err
    correct = int((labels == preds).sum())
    assert f"test accuracy {100 * correct / len(labels):.2f}% ({correct}/{len(labels)})" in out


def test_checkpoint_saved_on_meta_gives_one_line(run_dir, tmp_path, capsys):
    ckpt = ember.load(os.path.join(run_dir, "last.ckpt"))
    path = str(tmp_path / "meta.ckpt")
    saved_by_torch(ckpt, path, "meta")
    code, _, err = evaluate(capsys, path)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "meta" in err, err
