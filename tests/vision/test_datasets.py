"""Data set readers on generated files, and the shipped digits."""

import csv
import gzip
import hashlib
import io
import os
import struct
import tarfile

import numpy as np
import pytest

from ember.vision import datasets
from ember.vision.datasets import DatasetError, mnist


def idx_bytes(array, code=0x08):
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path, data, gz=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(data)
    return path


def make_mnist(folder, n_train=7, n_test=5, gz=True, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, n, dtype=np.uint8)
        ext = ".gz" if gz else ""
        write(os.path.join(folder, f"{prefix}-images-idx3-ubyte{ext}"), idx_bytes(x), gz)
        write(os.path.join(folder, f"{prefix}-labels-idx1-ubyte{ext}"), idx_bytes(y), gz)
        out[prefix] = (x, y)
    return out


# ---------------------------------------------------------------- Digits


def test_digits_split_and_values():
    with gzip.open(datasets.digits.DATA_FILE, "rt") as f:
        rows = np.array([[int(v) for v in r] for r in csv.reader(f)])
    train, test = datasets.Digits(train=True), datasets.Digits(train=False)
    assert (len(train), len(test)) == (1442, 355)
    # Stratified: every fifth image of each class, in file order, is a test image.
    test_rows = [i for c in range(10) for k, i in enumerate(np.flatnonzero(rows[:, 64] == c))
                 if k % 5 == 4]  # fmt: skip
    test_rows.sort()
    train_rows = sorted(set(range(len(rows))) - set(test_rows))
    for ds, idx in ((train, train_rows), (test, test_rows)):
        expected = np.floor(rows[idx, :64] * 255 / 16 + 0.5).reshape(-1, 8, 8)
        np.testing.assert_array_equal(ds.data.numpy(), expected)
        np.testing.assert_array_equal(ds.targets.numpy(), rows[idx, 64])
    img, label = test[3]
    assert np.asarray(img).shape == (8, 8) and label == rows[test_rows[3], 64]


def test_digits_transforms_applied():
    ds = datasets.Digits(transform=lambda im: np.asarray(im).sum(), target_transform=str)
    x, y = ds[0]
    assert x == int(ds.data.numpy()[0].sum()) and y == str(int(ds.targets[0]))
    assert "Digits" in repr(ds) and "1442" in repr(ds)


# ---------------------------------------------------------------- MNIST family


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("layout", ["raw", "class", "root"])
def test_mnist_reads_idx(tmp_path, gz, layout):
    folder = {"raw": tmp_path / "MNIST" / "raw", "class": tmp_path / "MNIST", "root": tmp_path}
    made = make_mnist(str(folder[layout]), gz=gz)
    for train, key in ((True, "train"), (False, "t10k")):
        ds = datasets.MNIST(tmp_path, train=train)
        np.testing.assert_array_equal(ds.data.numpy(), made[key][0])
        np.testing.assert_array_equal(ds.targets.numpy(), made[key][1])
        assert str(ds.targets.dtype) == "ember.int64" and str(ds.data.dtype) == "ember.uint8"
        img, label = ds[2]
        np.testing.assert_array_equal(np.asarray(img), made[key][0][2])
        assert label == made[key][1][2]


def test_system_location_fallback(tmp_path, monkeypatch):
    made = make_mnist(str(tmp_path / "sys" / "fashion-mnist"))
    monkeypatch.setattr(mnist, "SYSTEM_ROOT", str(tmp_path / "sys"))
    ds = datasets.FashionMNIST(train=False)
    np.testing.assert_array_equal(ds.data.numpy(), made["t10k"][0])
    assert ds.classes[9] == "Ankle boot"


def test_missing_files_message(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "SYSTEM_ROOT", str(tmp_path / "none"))
    with pytest.raises(DatasetError, match="apt-get install dataset-fashion-mnist"):
        datasets.FashionMNIST(tmp_path)
    with pytest.raises(DatasetError, match="download=True"):
        datasets.MNIST(tmp_path)


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda b: b"\x08\x00" + b[2:], "not an IDX file"),
        (lambda b: b[:-5], "the header says shape"),
        (lambda b: b + b"\x00", "the header says shape"),
        (lambda b: b[:10], "header says shape|header cut short"),
    ],
)
def test_bad_idx_names_file_and_problem(tmp_path, corrupt, message):
    make_mnist(str(tmp_path), gz=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(corrupt(path.read_bytes()))
    with pytest.raises(DatasetError, match=message) as e:
        datasets.MNIST(tmp_path)
    assert str(path) in str(e.value)


def test_count_mismatch_and_wrong_rank(tmp_path):
    make_mnist(str(tmp_path), gz=False)
    labels = tmp_path / "train-labels-idx1-ubyte"
    labels.write_bytes(idx_bytes(np.zeros(6, np.uint8)))
    with pytest.raises(DatasetError, match="holds 7 images but .* holds 6 labels"):
        datasets.MNIST(tmp_path)
    labels.write_bytes(idx_bytes(np.zeros((7, 1), np.uint8)))
    with pytest.raises(DatasetError, match="expected an IDX file of 1 dimensions, found 2"):
        datasets.MNIST(tmp_path)


def test_broken_gzip(tmp_path):
    make_mnist(str(tmp_path), gz=True)
    path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-6])
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte.gz: cannot read"):
        datasets.MNIST(tmp_path, train=False)


def test_idx_dtypes(tmp_path):
    for code, dtype in ((0x0B, np.int16), (0x0C, np.int32), (0x0D, np.float32)):
        a = np.arange(-3, 9).astype(dtype).reshape(3, 4)
        path = write(str(tmp_path / f"idx_{code}"), idx_bytes(a, code))
        np.testing.assert_array_equal(mnist.read_idx(path), a)


# ---------------------------------------------------------------- downloads


def served_mnist(tmp_path, files):
    """Generate gzipped IDX files, put them on the server; return a subclass pointing there."""
    src = tmp_path / "src"
    made = make_mnist(str(src), gz=True)
    resources = []
    for name in sorted(os.listdir(src)):
        data = (src / name).read_bytes()
        files[name] = data
        resources.append((name, hashlib.md5(data).hexdigest()))
    return made, resources


def subclass(base, url, resources):
    return type(base.__name__, (base,), {"mirrors": [url], "resources": resources})


def test_download_verifies_and_loads(tmp_path, http_files):
    url, files = http_files
    made, resources = served_mnist(tmp_path, files)
    ds = subclass(datasets.MNIST, url, resources)(tmp_path / "data", download=True)
    np.testing.assert_array_equal(ds.data.numpy(), made["train"][0])
    assert sorted(os.listdir(tmp_path / "data" / "MNIST" / "raw")) == sorted(files)


def test_download_wrong_checksum_leaves_nothing(tmp_path, http_files):
    url, files = http_files
    _, resources = served_mnist(tmp_path, files)
    resources[0] = (resources[0][0], "0" * 32)
    cls = subclass(datasets.MNIST, url, resources)
    with pytest.raises(DatasetError, match="has MD5 .* expected 0{32}; the file was not kept"):
        cls(tmp_path / "data", download=True)
    raw = tmp_path / "data" / "MNIST" / "raw"
    assert resources[0][0] not in os.listdir(raw)
    assert not [f for f in os.listdir(raw) if f.endswith(".part")]


def test_download_truncated_leaves_nothing(tmp_path, http_files):
    url, files = http_files
    _, resources = served_mnist(tmp_path, files)
    name = resources[0][0]
    files[name] = (files[name][:100], len(files[name]))
    with pytest.raises(DatasetError, match="cut off after 100"):
        subclass(datasets.MNIST, url, resources)(tmp_path / "data", download=True)
    assert name not in os.listdir(tmp_path / "data" / "MNIST" / "raw")
    assert not [f for f in os.listdir(tmp_path / "data" / "MNIST" / "raw") if "part" in f]


def test_download_unreachable(tmp_path, http_files):
    url, files = http_files
    with pytest.raises(DatasetError, match="cannot download .*404"):
        subclass(datasets.MNIST, url, [("nope.gz", "0" * 32)])(tmp_path, download=True)


# ---------------------------------------------------------------- CIFAR


def cifar_records(n, label_bytes, n_classes, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, (n, label_bytes), dtype=np.uint8)
    planes = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    raw = np.concatenate([labels, planes.reshape(n, -1)], axis=1).tobytes()
    return raw, planes.transpose(0, 2, 3, 1), labels[:, -1]


def test_cifar10_binary(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    expected = []
    for i in range(1, 6):
        raw, x, y = cifar_records(3, 1, 10, seed=i)
        (folder / f"data_batch_{i}.bin").write_bytes(raw)
        expected.append((x, y))
    raw, xt, yt = cifar_records(4, 1, 10, seed=9)
    (folder / "test_batch.bin").write_bytes(raw)
    ds = datasets.CIFAR10(tmp_path)
    np.testing.assert_array_equal(ds.data, np.concatenate([x for x, _ in expected]))
    assert ds.targets == np.concatenate([y for _, y in expected]).tolist()
    test = datasets.CIFAR10(tmp_path, train=False)
    assert test.data.shape == (4, 32, 32, 3)
    # Pixel (r, c) of channel k is byte 1 + k*1024 + r*32 + c of the record.
    assert test.data[1, 5, 7, 2] == raw[3073 + 1 + 2 * 1024 + 5 * 32 + 7]
    assert np.asarray(test[1][0]).shape == (32, 32, 3) and test[1][1] == yt[1]


def test_cifar100_fine_labels_and_bad_size(tmp_path):
    raw, x, y = cifar_records(5, 2, 100)
    (tmp_path / "test.bin").write_bytes(raw)
    ds = datasets.CIFAR100(tmp_path, train=False)
    np.testing.assert_array_equal(ds.data, x)
    assert ds.targets == y.tolist()
    (tmp_path / "test.bin").write_bytes(raw[:-1])
    with pytest.raises(DatasetError, match=r"test.bin: 15369 bytes is not a whole number"):
        datasets.CIFAR100(tmp_path, train=False)


def test_cifar_missing(tmp_path):
    with pytest.raises(DatasetError, match="data_batch_1.bin.*not found.*download=True"):
        datasets.CIFAR10(tmp_path)


def test_cifar_download_and_extract(tmp_path, http_files):
    url, files = http_files
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        raw, x, _ = cifar_records(2, 2, 100)
        for name, data in (
            ("train.bin", raw),
            ("test.bin", raw),
            ("fine_label_names.txt", b"\n".join(b"c%d" % i for i in range(100))),
        ):
            info = tarfile.TarInfo(f"cifar-100-binary/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    files["c.tgz"] = buf.getvalue()
    attrs = {"url": url + "c.tgz", "tgz_md5": hashlib.md5(buf.getvalue()).hexdigest()}
    ds = type("CIFAR100", (datasets.CIFAR100,), attrs)(tmp_path, download=True)
    np.testing.assert_array_equal(ds.data, x)
    assert ds.classes[7] == "c7"


# ---------------------------------------------------------------- folders


def test_dataset_folder_with_numpy_loader(tmp_path):
    for cls, n in (("b", 2), ("a", 3)):
        for i in range(n):
            write(str(tmp_path / cls / "sub" / f"{i}.npy"), b"")
            np.save(tmp_path / cls / "sub" / f"{i}.npy", np.full(2, i))
    (tmp_path / "a" / "notes.txt").write_text("skip me")
    ds = datasets.DatasetFolder(tmp_path, loader=np.load, extensions=(".npy",))
    assert ds.classes == ["a", "b"] and ds.class_to_idx == {"a": 0, "b": 1}
    assert ds.targets == [0, 0, 0, 1, 1] and len(ds) == 5
    x, y = ds[4]
    assert y == 1 and x.tolist() == [1, 1]


def test_dataset_folder_errors(tmp_path):
    with pytest.raises(DatasetError, match="no class folders"):
        datasets.DatasetFolder(tmp_path, np.load, (".npy",))
    (tmp_path / "cat").mkdir()
    with pytest.raises(DatasetError, match="no valid file for class 'cat'"):
        datasets.DatasetFolder(tmp_path, np.load, (".npy",))
    with pytest.raises(DatasetError, match="is not a folder"):
        datasets.ImageFolder(tmp_path / "missing")


def test_image_folder(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(0)
    arrays = {}
    for cls in ("dog", "cat"):
        (tmp_path / cls).mkdir()
        a = rng.integers(0, 256, (5, 6, 3), dtype=np.uint8)
        Image.fromarray(a).save(tmp_path / cls / "x.png")
        arrays[cls] = a
    (tmp_path / "cat" / "broken.png").write_bytes(b"not a png")
    ds = datasets.ImageFolder(tmp_path)
    assert ds.classes == ["cat", "dog"] and len(ds.imgs) == 3
    img, label = ds[2]
    assert label == 1 and img.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(img), arrays["dog"])
    with pytest.raises(DatasetError, match="broken.png: cannot decode"):
        ds[0]
