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
        (["--epochs", "0"], "--epochs must be an integer of at least 1, got 0"),
        (["--epochs", "-3"], "--epochs must be an integer of at least 1, got -3"),
        (["--epochs", "1.5"], "invalid int value: '1.5'"),
        (["--batch-size", "0"], "--batch-size must be an integer of at least 1, got 0"),
        (["--lr", "inf"], "--lr must be a positive finite number, got inf"),
        (["--lr", "nan"], "--lr must be a positive finite number, got nan"),
        (["--lr", "-0.1"], "--lr must be a positive finite number, got -0.1"),
        (["--lr", "fast"], "invalid float value: 'fast'"),
        (["--weight-decay", "-1"], "--weight-decay must be a finite number of at least 0"),
        (["--weight-decay", "inf"], "--weight-decay must be a finite number of at least 0"),
        (["--seed", "-1"], "--seed must be an integer of at least 0"),
        (["--image-size", "0"], "--image-size must be an integer of at least 8"),
        (["--workers", "-1"], "--workers must be at least 0"),
        (["--optimizer", "lbfgs"], "invalid choice: 'lbfgs'"),
        (["--device", "meta"], "--device must be cpu or cuda[:N], got 'meta'"),
        (["--device", "tpu"], "--device must be cpu or cuda[:N], got 'tpu'"),
        (["--dataset", "imagefolder:" + str(tmp_path)], "needs train/ and test/"),
        (["--out", str(bad)], "is a file, not a folder"),
        (["--out", str(bad / "sub")], "cannot create the output folder"),
        (["--bogus"], "unrecognized arguments: --bogus"),
    ]
    if not ember.cuda.is_available():
        cases.append((["--device", "cuda"], "cannot use device 'cuda'"))
    for args, message in cases:
        code, _, err = run_cli("train", "--quiet", *(["--out", str(tmp_path / "o")] + args))
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


@pytest.fixture(scope="module")
def one_epoch(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("one"))
    assert cli.main(["train", "--out", out, "--epochs", "1", "--quiet"]) == 0
    return os.path.join(out, "last.ckpt")


def altered(one_epoch, tmp_path, name, change):
    ckpt = ember.load(one_epoch)
    change(ckpt)
    path = str(tmp_path / name)
    ember.save(ckpt, path)
    return path


def test_bad_checkpoints_to_resume_give_one_clean_line(one_epoch, tmp_path):
    cases = [
        (lambda c: c.pop("optimizer"), "it lacks 'optimizer'"),
        (lambda c: c.update(epoch="1"), "epoch must be an integer of at least 0, got '1'"),
        (lambda c: c.update(epoch=1.5), "epoch must be an integer of at least 0, got 1.5"),
        (lambda c: c.update(epoch=4), "do not describe a run"),
        (lambda c: c.update(rng=ember.tensor(list(b"garbage"), dtype=ember.uint8)),
         "cannot resume from the checkpoint"),
        (lambda c: c.update(rng="state"), "rng must be a tensor"),
        (lambda c: c["config"].update(lr=float("inf")), "--lr must be a positive finite number"),
        (lambda c: c["config"].pop("model"), "the settings lack 'model'"),
        (lambda c: c.update(history=[{"epoch": 1}]), "history must be a list of rows"),
        (lambda c: c["model"].pop("classifier.4.bias"), "cannot resume from the checkpoint"),
    ]  # fmt: skip
    for i, (change, message) in enumerate(cases):
        path = altered(one_epoch, tmp_path, f"bad{i}.ckpt", change)
        code, _, err = run_cli("train", "--resume", path, "--epochs", "2", "--quiet")
        assert code == 2, (message, err)
        assert message in err and "Traceback" not in err, (message, err)
        assert len(err.strip().splitlines()) == 1, err
    code, _, err = run_cli("train", "--resume", one_epoch, "--epochs", "2", "--lr", "0.1")
    assert code == 2 and "--lr cannot change when resuming" in err


def test_full_disk_keeps_the_previous_checkpoint(one_epoch, tmp_path):
    """A file-size limit stands in for a full disk: writes past it fail with an OSError."""
    import resource

    out = tmp_path / "run"
    out.mkdir()
    previous = out / "last.ckpt"
    previous.write_bytes(open(one_epoch, "rb").read())
    before = previous.read_bytes()
    limit = len(before) // 2

    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    r = subprocess.run(
        [sys.executable, "-m", "ember.cli.main", "train", "--resume", str(previous), "--epochs",
         "2", "--quiet"],
        env=ENV, capture_output=True, text=True, timeout=120, preexec_fn=limit_file_size,
    )  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith(f"ember train: error: cannot write {previous}"), r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert previous.read_bytes() == before
    assert sorted(os.listdir(out)) == ["last.ckpt"]  # no temporary file left behind


def torch_copy(obj, torch):
    """``obj`` with every ember tensor replaced by a torch tensor of the same values."""
    if isinstance(obj, ember.Tensor):
        return torch.from_numpy(obj.numpy().copy())
    if isinstance(obj, dict):
        return {k: torch_copy(v, torch) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(torch_copy(v, torch) for v in obj)
    return obj


def test_checkpoint_saved_on_a_gpu_resumes_on_the_cpu(one_epoch, tmp_path, monkeypatch):
    """A file PyTorch wrote with every storage tagged 'cuda:0', as a GPU run writes it."""
    torch = pytest.importorskip("torch")
    from torch import serialization

    monkeypatch.setattr(serialization, "_package_registry", list(serialization._package_registry))
    serialization.register_package(
        0, lambda s: "cuda:0" if s.device.type == "cpu" else None, lambda s, loc: None
    )
    path = str(tmp_path / "gpu.ckpt")
    torch.save(torch_copy(ember.load(one_epoch), torch), path)
    with open(path, "rb") as f:
        assert b"cuda:0" in f.read()
    code, _, err = run_cli("train", "--resume", path, "--epochs", "2", "--quiet")
    assert code == 0, err
    resumed = ember.load(str(tmp_path / "last.ckpt"))  # written where the checkpoint lies
    assert resumed["epoch"] == 2 and len(resumed["history"]) == 2
    assert {t.device.type for t in resumed["model"].values()} == {"cpu"}
