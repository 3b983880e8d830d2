"""``ember export``: onnxruntime on the file gives the checkpoint's predictions."""

import numpy as np
import pytest

import ember
from ember.cli import main as cli
from ember.cli.evaluate import load_model
from ember.vision.datasets import Digits

ort = pytest.importorskip("onnxruntime")


def test_exported_classifier_predicts_as_the_checkpoint(tmp_path, capsys):
    out = str(tmp_path)
    assert cli.main(["train", "--out", out, "--epochs", "1", "--quiet", "--seed", "4"]) == 0
    path = str(tmp_path / "digits.onnx")
    assert cli.main(["export", f"{out}/best.ckpt", path]) == 0
    printed = capsys.readouterr().out
    assert "input 'image'" in printed and "mean" in printed
    ckpt = ember.load(f"{out}/best.ckpt")
    model = load_model(ckpt)
    images = Digits(train=False).data.numpy()[:37].astype(np.float32)[:, None] / 255
    x = ((images - ckpt["data"]["mean"][0]) / ckpt["data"]["std"][0]).astype(np.float32)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"image": x})
    with ember.no_grad():
        expected = model(ember.tensor(x)).numpy()
    np.testing.assert_allclose(logits, expected, atol=1e-4)
    assert (logits.argmax(1) == expected.argmax(1)).all()


def test_errors_are_one_line(tmp_path, capsys):
    assert cli.main(["export", str(tmp_path / "missing.ckpt"), str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ember export: error:") and len(err.strip().splitlines()) == 1
