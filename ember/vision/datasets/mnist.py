"""MNIST-format data sets: ``MNIST``, ``FashionMNIST``, ``KMNIST`` (IDX files, gzipped or not);
``EMNIST`` is in emnist.py."""

import os

import numpy as np

from ember._tensor import wrap
from ember.vision.datasets._utils import DatasetError, download_from_mirrors, read_bytes
from ember.vision.datasets.vision import VisionDataset, to_image

SYSTEM_ROOT = "/usr/share/datasets"

# IDX type codes (the third byte of the magic number) and their big-endian dtypes.
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path, ndim=None):
    """Read an IDX file (gzipped or not) as a NumPy array in native byte order."""
    raw = read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_TYPES:
        raise DatasetError(f"{path}: not an IDX file (magic number {raw[:4].hex() or 'missing'})")
    dims = raw[3]
    if ndim is not None and dims != ndim:
        raise DatasetError(f"{path}: expected an IDX file of {ndim} dimensions, found {dims}")
    header = 4 + 4 * dims
    if len(raw) < header:
        raise DatasetError(f"{path}: header cut short ({len(raw)} bytes)")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", dims, 4))
    dtype = np.dtype(IDX_TYPES[raw[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise DatasetError(
            f"{path}: the header says shape {shape} ({expected} bytes), the file has {len(raw)}"
        )
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


class MNIST(VisionDataset):
    """MNIST handwritten digits, 60,000 training and 10,000 test images of 28x28.

    Files are looked for in ``root/<ClassName>/raw``, ``root/<ClassName>``, ``root`` and then
    ``/usr/share/datasets/<system_name>/``; ``download=True`` fetches missing files into
    ``root/<ClassName>/raw`` and checks their MD5 first. ``data`` is a ``(N, 28, 28)`` uint8
    tensor, ``targets`` an int64 tensor.
    """

    mirrors = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]  # fmt: skip
    system_name = "mnist"
    install_hint = "pass download=True (or --download on the command line)"

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=False):  # fmt: skip
        super().__init__(root, transform, target_transform)
        self.train = train
        stems = self._stems()
        folder = self._find(stems)
        if folder is None and download:
            folder = self.download()
        if folder is None:
            raise DatasetError(self._not_found_message())
        images_path, labels_path = (self._file(folder, s) for s in stems)
        images = read_idx(images_path, ndim=3)
        labels = read_idx(labels_path, ndim=1)
        if len(images) != len(labels):
            raise DatasetError(
                f"{images_path} holds {len(images)} images but {labels_path} holds "
                f"{len(labels)} labels"
            )
        self.data = wrap(images.astype(np.uint8, copy=False))
        self.targets = wrap(labels.astype(np.int64))

    def _stems(self):
        """Names of the split's image and label files, without ``.gz``."""
        prefix = "train" if self.train else "t10k"
        return [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]

    @property
    def raw_folder(self):
        return os.path.join(self.root, type(self).__name__, "raw")

    def _folders(self):
        found = []
        if self.root is not None:
            name = type(self).__name__
            found += [self.raw_folder, os.path.join(self.root, name), self.root]
        return found + [os.path.join(SYSTEM_ROOT, self.system_name)]

    @staticmethod
    def _file(folder, stem):
        for name in (stem, stem + ".gz"):
            if os.path.isfile(os.path.join(folder, name)):
                return os.path.join(folder, name)
        return None

    def _find(self, stems):
        for folder in self._folders():
            if all(self._file(folder, s) for s in stems):
                return folder
        return None

    def _not_found_message(self):
        places = ", ".join(self._folders())
        return (
            f"{type(self).__name__}: the IDX files were not found in {places}; {self.install_hint}"
        )

    def download(self):
        """Fetch every resource into ``raw_folder``, verifying MD5; returns the folder."""
        if self.root is None:
            raise DatasetError(f"{type(self).__name__}: download=True needs a root folder")
        for filename, md5 in self.resources:
            if not os.path.isfile(os.path.join(self.raw_folder, filename)):
                download_from_mirrors(self.mirrors, self.raw_folder, filename, md5)
        return self.raw_folder

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        return self._apply(to_image(self.data._data[index]), int(self.targets._data[index]))

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def extra_repr(self):
        return f"Split: {'Train' if self.train else 'Test'}"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 28x28 grey images of 10 kinds of clothing."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]  # fmt: skip
    system_name = "fashion-mnist"
    install_hint = (
        "install it with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), "
        "or pass download=True (--download on the command line)"
    )


class KMNIST(MNIST):
    """Kuzushiji-MNIST: 28x28 grey images of 10 cursive Japanese characters."""

    mirrors = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
        ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
        ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
        ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134"),
    ]
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]
    system_name = "kmnist"
