"""Data for ``ember train``: each data set as in-memory float32 arrays, normalised with the
training set's per-channel mean and standard deviation."""

import os
from dataclasses import dataclass

import numpy as np

from ember.utils.data import Dataset

DATASETS = ("digits", "mnist", "fashion-mnist", "kmnist", "cifar10", "imagefolder:PATH")

# Per data set: default model, epochs, batch size, learning rate.
DEFAULTS = {
    "digits": dict(model="cnn", epochs=15, batch_size=32, lr=3e-3),
    "mnist": dict(model="cnn", epochs=3, batch_size=64, lr=2e-3),
    "fashion-mnist": dict(model="cnn", epochs=3, batch_size=64, lr=2e-3),
    "kmnist": dict(model="cnn", epochs=3, batch_size=64, lr=2e-3),
    "cifar10": dict(model="cnn", epochs=10, batch_size=64, lr=2e-3),
    "imagefolder": dict(model="cnn", epochs=10, batch_size=32, lr=1e-3),
}


class TrainError(Exception):
    """A problem with the user's input, reported as one line."""


@dataclass
class Data:
    x_train: np.ndarray  # (N, C, H, W) float32, normalised
    y_train: np.ndarray  # (N,) int64
    x_test: np.ndarray
    y_test: np.ndarray
    classes: list
    mean: list
    std: list

    @property
    def image_shape(self):
        return self.x_train.shape[1:]


class ArrayBatches(Dataset):
    """Arrays ``x``, ``y`` indexed by whole batches: item ``idx`` (an index array) is
    ``(x[idx], y[idx])``, so a ``DataLoader`` with ``batch_size=None`` and a sampler of index
    arrays yields ready batches, made in worker processes when ``num_workers > 0``."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __getitem__(self, idx):
        return self.x[idx], self.y[idx]

    def __len__(self):
        return len(self.y)


def dataset_kind(name):
    kind = name.split(":", 1)[0]
    if kind not in DEFAULTS:
        raise TrainError(f"unknown data set {name!r}; choose from {', '.join(DATASETS)}")
    if kind == "imagefolder" and ":" not in name:
        raise TrainError("imagefolder needs a folder: --dataset imagefolder:PATH")
    return kind


def _uint8_images(images):
    """``(N, H, W)`` or ``(N, H, W, C)`` uint8 to ``(N, C, H, W)`` float32 in [0, 1]."""
    a = images[:, None] if images.ndim == 3 else images.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(a, dtype=np.float32) / np.float32(255)


def _array_split(name, data_dir, download):
    from ember.vision import datasets

    if name == "digits":
        pair = [datasets.Digits(train=t) for t in (True, False)]
    elif name == "cifar10":
        if data_dir is None:
            raise TrainError("cifar10 needs --data-dir (the folder with cifar-10-batches-bin)")
        pair = [datasets.CIFAR10(data_dir, train=t, download=download) for t in (True, False)]
    else:
        cls = {"mnist": datasets.MNIST, "fashion-mnist": datasets.FashionMNIST,
               "kmnist": datasets.KMNIST}[name]  # fmt: skip
        pair = [cls(data_dir, train=t, download=download) for t in (True, False)]
    out = []
    for ds in pair:
        images = ds.data if isinstance(ds.data, np.ndarray) else ds.data.numpy()
        out += [_uint8_images(images), np.asarray(ds.targets, dtype=np.int64)]
    return (*out, list(pair[0].classes))


def _folder_split(root, image_size):
    """``root/train`` and ``root/test`` (or ``root/val``) as ImageFolders, resized to
    ``image_size`` squares and decoded once into memory."""
    from ember.vision import datasets, transforms

    test_dir = next((os.path.join(root, d) for d in ("test", "val")
                     if os.path.isdir(os.path.join(root, d))), None)  # fmt: skip
    if not os.path.isdir(os.path.join(root, "train")) or test_dir is None:
        raise TrainError(f"imagefolder: {root} needs train/ and test/ (or val/) sub-folders, "
                         "each with one folder per class")  # fmt: skip
    tf = transforms.Compose([transforms.Resize(image_size), transforms.CenterCrop(image_size),
                             transforms.ToTensor()])  # fmt: skip
    out = []
    for folder in (os.path.join(root, "train"), test_dir):
        ds = datasets.ImageFolder(folder, transform=tf)
        xs = [ds[i][0].numpy() for i in range(len(ds))]
        out += [np.stack(xs).astype(np.float32), np.asarray(ds.targets, dtype=np.int64)]
    train_classes = datasets.ImageFolder(os.path.join(root, "train")).classes
    return (*out, train_classes)


def load_data(name, data_dir=None, download=False, image_size=32, stats=None):
    """Load ``name`` (see ``DATASETS``) as normalised arrays: with the training set's
    per-channel mean and std, or with ``stats`` = (mean, std) when given (a checkpoint's)."""
    from ember.vision.datasets import DatasetError

    kind = dataset_kind(name)
    try:
        if kind == "imagefolder":
            split = _folder_split(name.split(":", 1)[1], image_size)
        else:
            split = _array_split(kind, data_dir, download)
    except (DatasetError, ImportError, OSError) as e:  # OSError: an unreadable image or folder
        raise TrainError(" ".join(str(e).split())) from e
    x_train, y_train, x_test, y_test, classes = split
    if stats is None:
        mean = x_train.mean(axis=(0, 2, 3), dtype=np.float64)
        std = x_train.std(axis=(0, 2, 3), dtype=np.float64)
        std = np.where(std > 0, std, 1.0)
    else:
        mean, std = (np.asarray(s, np.float64) for s in stats)

    def norm(x):
        return ((x - mean[:, None, None]) / std[:, None, None]).astype(np.float32)

    return Data(norm(x_train), y_train, norm(x_test), y_test, classes, mean.tolist(), std.tolist())
