"""SummaryWriter: event files read back by TensorBoard, compared with torch's SummaryWriter."""

import glob
import io
import os
import re
import socket
import sys

import numpy as np
import pytest

pytest.importorskip("tensorboard")
import torch  # noqa: E402
import torch.utils.tensorboard as torch_tb  # noqa: E402
from PIL import Image  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader  # noqa: E402

import ember  # noqa: E402
from ember.utils.tensorboard import SummaryWriter  # noqa: E402


def _accumulator(log_dir):
    acc = EventAccumulator(str(log_dir), size_guidance={"images": 0, "histograms": 0})
    acc.Reload()
    return acc


def _both(tmp_path, write):
    """Run ``write(writer, tensor_module)`` under ember's and torch's writers; return the dirs."""
    dirs = []
    for name, writer_cls, module in (
        ("ember", SummaryWriter, ember),
        ("torch", torch_tb.SummaryWriter, torch),
    ):
        log_dir = tmp_path / name
        with writer_cls(str(log_dir)) as w:
            write(w, module)
        dirs.append(log_dir)
    return dirs


def _summaries(log_dir):
    """(step, Summary.Value) of every summary in the event files of ``log_dir``."""
    found = []
    for path in sorted(glob.glob(os.path.join(str(log_dir), "events.out.tfevents.*"))):
        for event in EventFileLoader(path).Load():
            if event.HasField("summary"):
                found.extend((event.step, v) for v in event.summary.value)
    return found


def test_scalars_match_torch(tmp_path):
    values = np.random.default_rng(0).standard_normal(5)

    def write(w, m):
        for step, v in enumerate(values):
            w.add_scalar("loss", m.tensor(v), step)
            w.add_scalar("lr", float(v) * 2, step * 10)

    ours, theirs = (_accumulator(d) for d in _both(tmp_path, write))
    for tag in ("loss", "lr"):
        got = [(e.step, e.value) for e in ours.Scalars(tag)]
        want = [(e.step, e.value) for e in theirs.Scalars(tag)]
        assert got == want


def test_scalar_new_style_and_walltime(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        w.add_scalar("x", 0.25, 3, walltime=123.0, new_style=True, double_precision=True)
    with torch_tb.SummaryWriter(str(tmp_path / "t")) as w:
        w.add_scalar("x", 0.25, 3, walltime=123.0, new_style=True, double_precision=True)
    ((step, got),) = _summaries(tmp_path)
    ((_, want),) = _summaries(tmp_path / "t")
    assert step == 3 and got == want
    events = [e for e in EventFileLoader(glob.glob(str(tmp_path / "events*"))[0]).Load()]
    assert events[-1].wall_time == 123.0


def test_add_scalars_writes_one_run_per_key(tmp_path):
    def write(w, m):
        for step in range(3):
            w.add_scalars("run/a", {"sin": np.sin(step), "cos": m.tensor(np.cos(step))}, step)

    ours, theirs = _both(tmp_path, write)
    for key in ("sin", "cos"):
        got = _accumulator(ours / f"run_a_{key}").Scalars("run/a")
        want = _accumulator(theirs / f"run_a_{key}").Scalars("run/a")
        assert [(e.step, e.value) for e in got] == [(e.step, e.value) for e in want]


@pytest.mark.parametrize(
    "bins, max_bins", [("tensorflow", None), ("auto", None), (10, None), ("tensorflow", 7)]
)
def test_histograms_match_torch(tmp_path, bins, max_bins):
    data = np.random.default_rng(1).standard_normal((40, 5)) * 3

    def write(w, m):
        w.add_histogram("w", m.tensor(data), 0, bins=bins, max_bins=max_bins)
        w.add_histogram("w", m.tensor(data[:7] + 10), 1, bins=bins, max_bins=max_bins)

    ours, theirs = (_accumulator(d).Histograms("w") for d in _both(tmp_path, write))
    assert len(ours) == len(theirs) == 2
    for a, b in zip(ours, theirs):
        assert a.step == b.step
        for field in ("min", "max", "num", "bucket_limit", "bucket"):
            np.testing.assert_array_equal(
                getattr(a.histogram_value, field), getattr(b.histogram_value, field)
            )
        for field in ("sum", "sum_squares"):
            assert getattr(a.histogram_value, field) == pytest.approx(
                getattr(b.histogram_value, field), rel=1e-12
            )


def test_histogram_counts_match_numpy(tmp_path):
    data = np.random.default_rng(2).uniform(-1, 1, 500)
    with SummaryWriter(str(tmp_path)) as w:
        w.add_histogram("u", data, 0, bins=20)
    hist = _accumulator(tmp_path).Histograms("u")[0].histogram_value
    counts, edges = np.histogram(data, bins=20)
    assert sum(hist.bucket) == data.size
    np.testing.assert_array_equal(hist.bucket[1:], counts)
    np.testing.assert_allclose(hist.bucket_limit, edges)


def _pixels(image_event):
    return np.asarray(Image.open(io.BytesIO(image_event.encoded_image_string)))


@pytest.mark.parametrize(
    "shape, dataformats, method",
    [
        ((3, 6, 5), "CHW", "add_image"),
        ((6, 5, 3), "HWC", "add_image"),
        ((6, 5, 1), "HWC", "add_image"),
        ((6, 5), "HW", "add_image"),
        ((4, 6, 5, 4), "HWCN", "add_image"),
        ((10, 3, 4, 5), "NCHW", "add_images"),
        ((3, 4, 5, 1), "NHWC", "add_images"),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.uint8])
def test_images_match_torch(tmp_path, shape, dataformats, method, dtype):
    rng = np.random.default_rng(3)
    data = rng.uniform(0, 1, shape) if dtype == np.float32 else rng.integers(0, 256, shape)
    data = data.astype(dtype)
    if dataformats == "HWCN":  # channel count 5 is not an image; the layout is only permuted
        data = data[:, :, :3, :]

    def write(w, m):
        getattr(w, method)("img", m.from_numpy(data.copy()), 2, dataformats=dataformats)

    ours, theirs = (_accumulator(d).Images("img") for d in _both(tmp_path, write))
    assert ours[0].step == theirs[0].step == 2
    assert (ours[0].width, ours[0].height) == (theirs[0].width, theirs[0].height)
    np.testing.assert_array_equal(_pixels(ours[0]), _pixels(theirs[0]))


def test_image_pixels_are_scaled_by_255(tmp_path):
    data = np.linspace(0, 1, 3 * 2 * 4, dtype=np.float32).reshape(3, 2, 4)
    with SummaryWriter(str(tmp_path)) as w:
        w.add_image("img", ember.from_numpy(data), 0)
    got = _pixels(_accumulator(tmp_path).Images("img")[0])
    np.testing.assert_array_equal(got, (data.transpose(1, 2, 0) * 255).astype(np.uint8))


def test_figure_matches_torch(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def write(w, m):
        figure = plt.figure(figsize=(2, 1.5), dpi=40)
        plt.plot([0, 1, 2], [2, 0, 1])
        w.add_figure("fig", figure, 1)
        w.add_figure("figs", [plt.figure(figsize=(1, 1), dpi=30) for _ in range(2)], 1)

    ours, theirs = (_accumulator(d) for d in _both(tmp_path, write))
    for tag in ("fig", "figs"):
        np.testing.assert_array_equal(_pixels(ours.Images(tag)[0]), _pixels(theirs.Images(tag)[0]))
    assert not plt.get_fignums()  # close=True closed every figure


def test_text_matches_torch(tmp_path):
    ours, theirs = (
        _summaries(d) for d in _both(tmp_path, lambda w, m: w.add_text("note", "héllo **x**", 4))
    )
    assert [(s, v.SerializeToString()) for s, v in ours] == [
        (s, v.SerializeToString()) for s, v in theirs
    ]
    assert ours[0][1].tag == "note/text_summary"


def test_hparams_match_torch(tmp_path):
    def write(w, m):
        w.add_hparams(
            {"lr": 0.1, "layers": 3, "act": "relu", "bn": True, "skip": None},
            {"hparam/acc": 0.9},
            hparam_domain_discrete={"act": ["relu", "gelu"]},
            run_name="trial",
        )

    ours, theirs = (_summaries(d / "trial") for d in _both(tmp_path, write))
    assert [v.SerializeToString() for _, v in ours] == [v.SerializeToString() for _, v in theirs]
    assert len(ours) == 4  # experiment, session start, session end, the metric


def test_hparams_rejects_non_dicts(tmp_path):
    with SummaryWriter(str(tmp_path)) as w, pytest.raises(TypeError, match="dictionary"):
        w.add_hparams([("lr", 0.1)], {})


def test_default_log_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_lr0.1")
    w.close()
    logdir = w.get_logdir()
    assert os.path.dirname(logdir) == "runs"
    pattern = r"[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}_" + re.escape(socket.gethostname() + "_lr0.1")
    assert re.fullmatch(pattern, os.path.basename(logdir))
    assert glob.glob(os.path.join(logdir, "events.out.tfevents.*"))


def test_filename_suffix_and_purge_step(tmp_path):
    with SummaryWriter(str(tmp_path), purge_step=5, filename_suffix=".v1") as w:
        w.add_scalar("a", 1.0, 6)
    (path,) = glob.glob(str(tmp_path / "events.out.tfevents.*"))
    assert path.endswith(".v1")
    events = list(EventFileLoader(path).Load())
    starts = [e for e in events if e.HasField("session_log")]
    assert [(e.step, e.session_log.status) for e in starts] == [(5, 1)]


def test_flush_close_and_reopen(tmp_path):
    w = SummaryWriter(str(tmp_path), flush_secs=10_000)
    w.add_scalar("a", 1.0, 0)
    w.flush()
    assert [e.value for e in _accumulator(tmp_path).Scalars("a")] == [1.0]
    w.close()
    w.close()  # a second close does nothing
    w.add_scalar("a", 2.0, 1)  # a closed writer opens a new file
    w.close()
    assert [e.value for e in _accumulator(tmp_path).Scalars("a")] == [1.0, 2.0]


def test_bad_input_errors(tmp_path):
    with SummaryWriter(str(tmp_path)) as w:
        with pytest.raises(ValueError, match="add_scalar.*shape \\[3\\]"):
            w.add_scalar("a", ember.ones(3))
        with pytest.raises(ValueError, match="add_image.*\\[3, 4\\].*CHW"):
            w.add_image("i", np.zeros((3, 4)))
        with pytest.raises(ValueError, match="add_histogram.*no values"):
            w.add_histogram("h", np.zeros(0))
        with pytest.raises(TypeError, match="add_scalar.*str"):
            w.add_scalar("a", "1.0")
        with pytest.raises(NotImplementedError, match="add_graph"):
            w.add_graph(ember.nn.Linear(2, 2), ember.ones(1, 2))


def test_import_without_tensorboard_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard.summary.writer.event_file_writer", None)
    for name in [n for n in sys.modules if n.startswith("ember.utils.tensorboard")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ImportError, match="pip install tensorboard"):
        import ember.utils.tensorboard  # noqa: F401
