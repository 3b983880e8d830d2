"""``Digits``: the 1,797 real 8x8 handwritten digits shipped inside ember (see data/README.md)."""

import os

import numpy as np

from ember._tensor import wrap
from ember.vision.datasets.vision import VisionDataset, to_image

DATA_FILE = os.path.join(os.path.dirname(__file__), "data", "digits.csv.gz")


def load_digits_arrays():
    """All images as ``(1797, 8, 8)`` uint8 scaled to 0..255 and labels as int64."""
    table = np.loadtxt(DATA_FILE, delimiter=",", dtype=np.int64)
    images = np.rint(table[:, :64] * (255 / 16)).astype(np.uint8).reshape(-1, 8, 8)
    return images, table[:, 64]


def test_mask(labels):
    """True for the test images: every fifth image of each class, in file order."""
    rank = np.empty(len(labels), np.int64)
    for c in np.unique(labels):
        where = np.flatnonzero(labels == c)
        rank[where] = np.arange(len(where))
    return rank % 5 == 4


class Digits(VisionDataset):
    """UCI handwritten digits (E. Alpaydin, C. Kaynak, 1998; CC BY 4.0), 8x8 grey images.

    The split is fixed and stratified: within each class, taken in file order, every fifth
    image (the 5th, 10th, ...) is in the test set (355 images), the rest in the training set
    (1,442). Pixels 0..16 are scaled to 0..255, so the
    images behave like MNIST's: ``transforms.ToTensor()`` gives values in [0, 1].
    ``data`` is a ``(N, 8, 8)`` uint8 tensor, ``targets`` an int64 tensor. ``root`` and
    ``download`` are accepted for a uniform interface; the data needs neither.
    """

    classes = [str(i) for i in range(10)]

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=False):  # fmt: skip
        super().__init__(root, transform, target_transform)
        self.train = train
        images, labels = load_digits_arrays()
        keep = test_mask(labels) != train
        self.data = wrap(np.ascontiguousarray(images[keep]))
        self.targets = wrap(np.ascontiguousarray(labels[keep]))

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        return self._apply(to_image(self.data._data[index]), int(self.targets._data[index]))

    def extra_repr(self):
        return f"Split: {'Train' if self.train else 'Test'}"
