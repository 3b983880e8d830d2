"""``CIFAR10`` and ``CIFAR100`` from their binary versions (fixed-size records, never pickle)."""

import os

import numpy as np

from ember.vision.datasets._utils import (
    DatasetError,
    download_url,
    extract_tar,
    md5sum,
    read_bytes,
)
from ember.vision.datasets.vision import VisionDataset, to_image

PIXELS = 3 * 32 * 32


class CIFAR10(VisionDataset):
    """CIFAR-10: 50,000 training and 10,000 test colour images of 32x32, 10 classes.

    Reads the binary version (``cifar-10-batches-bin/``: each record is one label byte and
    3,072 pixel bytes, the red, green and blue planes in turn) from ``root`` or
    ``root/cifar-10-batches-bin``. ``data`` is an ``(N, 32, 32, 3)`` uint8 NumPy array and
    ``targets`` a list of ints, as in torchvision.
    """

    url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    filename = "cifar-10-binary.tar.gz"
    tgz_md5 = "c32a1d4ab5d03f1284b67883e8d87530"
    base_folder = "cifar-10-batches-bin"
    train_list = [f"data_batch_{i}.bin" for i in range(1, 6)]
    test_list = ["test_batch.bin"]
    meta_file = "batches.meta.txt"
    label_bytes = 1  # the label used is the last of these bytes (CIFAR-100: coarse, fine)
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck"]  # fmt: skip

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        super().__init__(root, transform, target_transform)
        self.train = train
        names = self.train_list if train else self.test_list
        folder = self._find(names)
        if folder is None and download:
            folder = self.download()
        if folder is None:
            raise DatasetError(
                f"{type(self).__name__}: the binary files {', '.join(names)} were not found in "
                f"{self.root} or {os.path.join(self.root, self.base_folder)}; pass download=True "
                f"or fetch the binary version from {self.url}"
            )
        images, labels = zip(*(self._read(os.path.join(folder, n)) for n in names))
        self.data = np.concatenate(images)
        self.targets = np.concatenate(labels).astype(np.int64).tolist()
        meta = os.path.join(folder, self.meta_file)
        if os.path.isfile(meta):
            with open(meta) as f:
                self.classes = [line.strip() for line in f if line.strip()]
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    def _find(self, names):
        for folder in (os.path.join(self.root, self.base_folder), self.root):
            if all(os.path.isfile(os.path.join(folder, n)) for n in names):
                return folder
        return None

    def _read(self, path):
        raw = read_bytes(path)
        record = self.label_bytes + PIXELS
        if len(raw) == 0 or len(raw) % record:
            raise DatasetError(
                f"{path}: {len(raw)} bytes is not a whole number of {record}-byte CIFAR records"
            )
        rows = np.frombuffer(raw, np.uint8).reshape(-1, record)
        labels = rows[:, self.label_bytes - 1]
        if labels.max() >= len(self.classes):
            raise DatasetError(
                f"{path}: label {labels.max()} out of range for {len(self.classes)} classes"
            )
        images = rows[:, self.label_bytes :].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return np.ascontiguousarray(images), labels

    def download(self):
        """Fetch and verify the archive, extract it into ``root``; returns the data folder."""
        archive = os.path.join(self.root, self.filename)
        if not (os.path.isfile(archive) and md5sum(archive) == self.tgz_md5):
            download_url(self.url, self.root, self.filename, self.tgz_md5)
        extract_tar(archive, self.root)
        return os.path.join(self.root, self.base_folder)

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        return self._apply(to_image(self.data[index]), self.targets[index])

    def extra_repr(self):
        return f"Split: {'Train' if self.train else 'Test'}"


class CIFAR100(CIFAR10):
    """CIFAR-100: as CIFAR-10 with 100 fine classes; each record has a coarse and a fine label
    byte, and ``targets`` are the fine labels."""

    url = "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"
    filename = "cifar-100-binary.tar.gz"
    tgz_md5 = "03b5dce01913d631647c71ecec9e9cb8"
    base_folder = "cifar-100-binary"
    train_list = ["train.bin"]
    test_list = ["test.bin"]
    meta_file = "fine_label_names.txt"
    label_bytes = 2
    classes = [str(i) for i in range(100)]
