"""``ember train``: accuracy on the shipped digits, exact resume, Ctrl-C, clean errors."""

import csv
import gzip
import os
import signal
import struct
import subprocess
import sys
import time

import numpy as np
import pytest

import ember
from ember.cli import main as cli
from ember.cli import train as train_cmd

ENV = {**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.dirname(__file__)))}


def metrics(out):
    with open(os.path.join(out, "metrics.csv")) as f:
        return list(csv.DictReader(f))


def weights(path):
    return {k: v.numpy() for k, v in ember.load(path)["model"].items()}


def test_default_run_reaches_97_percent_on_digits(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert cli.main(["train", "--out", out, "--seed", "0"]) == 0
    rows = metrics(out)
    assert len(rows) == 15
    assert float(rows[-1]["test_acc"]) >= 0.97
    for name in ("best.ckpt", "last.ckpt", "metrics.csv"):
        assert os.path.isfile(os.path.join(out, name))
    printed = capsys.readouterr().out
    assert "final test accuracy" in printed and f"outputs in {out}" in printed
    ckpt = ember.load(os.path.join(out, "last.ckpt"))
    assert ckpt["epoch"] == 15 and ckpt["config"]["dataset"] == "digits"
    # The saved model really has the reported accuracy.
    data = train_cmd.load_data("digits")
    model = train_cmd.build_model("cnn", 10, data.image_shape)
    model.load_state_dict(ckpt["model"])
    _, acc, _ = train_cmd.evaluate(model, data.x_test, data.y_test)
    assert acc == pytest.approx(float(rows[-1]["test_acc"]))


def test_curves_png_written(tmp_path):
    pytest.importorskip("matplotlib")
    out = str(tmp_path / "run")
    assert cli.main(["train", "--out", out, "--epochs", "1", "--quiet"]) == 0
    with open(os.path.join(out, "curves.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


class StopAfter:
    """Stands in for the SIGINT handler: requests a stop after ``n`` batches."""

    n = 0

    def __enter__(self):
        self.checks = 0
        return self

    def __exit__(self, *exc):
        pass

    @property
    def requested(self):
        self.checks += 1
        return self.checks > StopAfter.n


@pytest.mark.parametrize("stop_after", [57, 46])  # mid-epoch, and exactly at an epoch's end
def test_resume_equals_uninterrupted(tmp_path, monkeypatch, stop_after):
    common = ["--epochs", "3", "--quiet", "--seed", "5", "--optimizer", "adamw"]
    full, part = str(tmp_path / "full"), str(tmp_path / "part")
    assert cli.main(["train", "--out", full, *common]) == 0
    StopAfter.n = stop_after
    with monkeypatch.context() as m:
        m.setattr(train_cmd, "Stop", StopAfter)
        assert cli.main(["train", "--out", part, *common]) == train_cmd.INTERRUPTED
    ckpt = ember.load(os.path.join(part, "last.ckpt"))
    assert (ckpt["epoch"], ckpt["step"]) == divmod(stop_after, 46)
    assert cli.main(["train", "--resume", os.path.join(part, "last.ckpt"), "--quiet"]) == 0
    a, b = weights(os.path.join(full, "last.ckpt")), weights(os.path.join(part, "last.ckpt"))
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    columns = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr")
    assert [[r[c] for c in columns] for r in metrics(full)] == [
        [r[c] for c in columns] for r in metrics(part)
    ]


def test_sigint_saves_a_checkpoint_and_exits_cleanly(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "ember.cli.main", "train", "--out", str(out), "--epochs", "200",
           "--quiet"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "metrics.csv").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == train_cmd.INTERRUPTED, stderr
    assert "Traceback" not in stderr and "interrupted: saved" in stderr
    ckpt = ember.load(str(out / "last.ckpt"))
    assert ckpt["epoch"] >= 1
    assert not [f for f in os.listdir(out) if f.endswith(".tmp") or f.startswith(".")]


def run_cli(*args):
    r = subprocess.run([sys.executable, "-m", "ember.cli.main", *args], env=ENV,
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    return r.returncode, r.stdout, r.stderr


def test_bad_inputs_give_one_clean_line(tmp_path):
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"\x00" * 40)
    cases = [
        (["--dataset", "imagenet"], "unknown data set 'imagenet'"),
        (["--model", "alexnet"], "unknown model 'alexnet'"),
        (["--model", "lenet5"], "lenet5 needs 28x28 or 32x32 images"),
        (["--resume", str(tmp_path / "none.ckpt")], "no checkpoint at"),
        (["--resume", str(bad)], "cannot read checkpoint"),
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--dataset", "imagefolder:" + str(tmp_path)], "needs train/ and test/"),
    ]
    for args, message in cases:
        code, _, err = run_cli("train", "--out", str(tmp_path / "o"), "--quiet", *args)
        assert code == 2, (args, err)
        assert message in err and "Traceback" not in err, (args, err)
        assert len(err.strip().splitlines()) == 1, err


def test_fashion_mnist_missing_says_how_to_install(tmp_path, monkeypatch, capsys):
    from ember.vision.datasets import mnist

    # Whether or not this machine has the Debian package, look in an empty system folder.
    monkeypatch.setattr(mnist, "SYSTEM_ROOT", str(tmp_path / "system"))
    args = ["train", "--dataset", "fashion-mnist", "--data-dir", str(tmp_path), "--quiet",
            "--out", str(tmp_path / "o")]  # fmt: skip
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "sudo apt-get install dataset-fashion-mnist" in err
    assert str(tmp_path / "system" / "fashion-mnist") in err


def test_workers_reach_the_data_loader(tmp_path, monkeypatch):
    seen = []
    real = train_cmd.batch_loader

    def spy(x, y, batches, workers):
        loader = real(x, y, batches, workers)
        seen.append(loader.num_workers)
        return loader

    monkeypatch.setattr(train_cmd, "batch_loader", spy)
    runs = {}
    for workers in (0, 2):
        out = str(tmp_path / f"w{workers}")
        args = ["train", "--out", out, "--epochs", "1", "--quiet", "--workers", str(workers)]
        assert cli.main(args) == 0
        runs[workers] = weights(os.path.join(out, "last.ckpt"))
    assert seen == [0, 2]
    for k in runs[0]:  # the same batches, whichever process makes them
        np.testing.assert_array_equal(runs[0][k], runs[2][k], err_msg=k)
    assert cli.main(["train", "--workers", "-1", "--quiet", "--out", out]) == 2


def idx(array):
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def test_fashion_mnist_from_data_dir(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 64), ("t10k", 32)):
        y = rng.integers(0, 10, n).astype(np.uint8)
        x = (rng.integers(0, 60, (n, 28, 28)) + y[:, None, None] * 20).astype(np.uint8)
        for kind, a in (("images-idx3", x), ("labels-idx1", y)):
            with gzip.open(tmp_path / f"{prefix}-{kind}-ubyte.gz", "wb") as f:
                f.write(idx(a))
    out = str(tmp_path / "run")
    args = ["train", "--dataset", "fashion-mnist", "--data-dir", str(tmp_path), "--out", out,
            "--epochs", "1", "--quiet", "--model", "lenet5"]  # fmt: skip
    assert cli.main(args) == 0
    assert ember.load(os.path.join(out, "last.ckpt"))["data"]["classes"][0] == "T-shirt/top"


def test_info_still_works():
    code, out, _ = run_cli("info")
    assert code == 0 and out.startswith("ember")
