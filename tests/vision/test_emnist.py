"""``EMNIST``: the six splits' file names and classes, download of the zip archive."""

import gzip
import hashlib
import io
import os
import string
import zipfile

import numpy as np
import pytest

from ember.vision import datasets
from ember.vision.datasets import DatasetError, mnist
from tests.vision.test_datasets import idx_bytes


def split_files(split, part, n, seed):
    """(file name -> gzipped IDX bytes, images, labels) for one split and part."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, n, dtype=np.uint8)
    stem = f"emnist-{split}-{part}"
    files = {
        f"{stem}-images-idx3-ubyte.gz": gzip.compress(idx_bytes(x)),
        f"{stem}-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(y)),
    }
    return files, x, y


@pytest.mark.parametrize("split", ["byclass", "bymerge", "balanced", "letters", "digits", "mnist"])
def test_reads_each_split_from_raw_folder(tmp_path, split, monkeypatch):
    monkeypatch.setattr(mnist, "SYSTEM_ROOT", str(tmp_path / "none"))
    raw = tmp_path / "EMNIST" / "raw"
    raw.mkdir(parents=True)
    made = {}
    for seed, part in enumerate(("train", "test")):
        files, x, y = split_files(split, part, 4 + seed, seed)
        for name, data in files.items():
            (raw / name).write_bytes(data)
        made[part] = (x, y)
    for train, part in ((True, "train"), (False, "test")):
        ds = datasets.EMNIST(tmp_path, split=split, train=train)
        np.testing.assert_array_equal(ds.data.numpy(), made[part][0])
        np.testing.assert_array_equal(ds.targets.numpy(), made[part][1])
        img, label = ds[1]
        np.testing.assert_array_equal(np.asarray(img), made[part][0][1])
        assert label == made[part][1][1] and len(ds) == len(made[part][1])


def test_classes_as_torchvision():
    letters = set(string.ascii_letters)
    merged = set("cijklmopsuvwxyz")
    classes = datasets.emnist.CLASSES
    assert (
        classes["byclass"] == sorted(set(string.digits) | letters) and len(classes["byclass"]) == 62
    )
    assert classes["bymerge"] == classes["balanced"]
    assert len(classes["balanced"]) == 47 and not merged & set(classes["balanced"])
    assert "C" in classes["balanced"] and "a" in classes["balanced"]
    assert classes["letters"] == ["N/A"] + list(string.ascii_lowercase)
    assert classes["digits"] == classes["mnist"] == list("0123456789")


def test_bad_split_and_missing_files(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="Unknown value 'words' for argument split"):
        datasets.EMNIST(tmp_path, split="words")
    monkeypatch.setattr(mnist, "SYSTEM_ROOT", str(tmp_path / "none"))
    with pytest.raises(DatasetError, match="EMNIST: the IDX files were not found"):
        datasets.EMNIST(tmp_path, split="letters")


def archive_bytes(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def served(http_files, members):
    url, files = http_files
    data = archive_bytes(members)
    files["gzip.zip"] = data
    attrs = {"url": url + "gzip.zip", "md5": hashlib.md5(data).hexdigest()}
    return type("EMNIST", (datasets.EMNIST,), attrs), files


def test_download_extracts_only_idx_files(tmp_path, http_files):
    train, x, y = split_files("digits", "train", 6, 0)
    test, *_ = split_files("digits", "test", 3, 1)
    members = {f"gzip/{k}": v for k, v in {**train, **test}.items()}
    members["gzip/../../evil-train-images-idx3-ubyte.gz"] = b"x"
    members["gzip/readme.txt"] = b"x"
    cls, _ = served(http_files, members)
    ds = cls(tmp_path / "data", split="digits", download=True)
    np.testing.assert_array_equal(ds.data.numpy(), x)
    np.testing.assert_array_equal(ds.targets.numpy(), y)
    raw = tmp_path / "data" / "EMNIST" / "raw"
    assert sorted(os.listdir(raw)) == sorted([*train, *test])
    assert sorted(os.listdir(tmp_path)) == ["data"]


def test_download_wrong_checksum_or_missing_split(tmp_path, http_files):
    train, *_ = split_files("digits", "train", 6, 0)
    cls, files = served(http_files, {f"gzip/{k}": v for k, v in train.items()})
    with pytest.raises(DatasetError, match="holds no files for split 'letters'"):
        cls(tmp_path / "a", split="letters", download=True)
    cls.md5 = "0" * 32
    with pytest.raises(DatasetError, match="expected 0{32}; the file was not kept"):
        cls(tmp_path / "b", split="digits", download=True)
    assert os.listdir(tmp_path / "b" / "EMNIST" / "raw") == []
