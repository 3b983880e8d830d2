"""``DatasetFolder`` and ``ImageFolder``: one sub-folder per class, as in torchvision."""

import os

from ember.vision.datasets._utils import DatasetError
from ember.vision.datasets.vision import VisionDataset, pil_or_none

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def find_classes(directory):
    """Sorted sub-folder names of ``directory`` and their indices."""
    if not os.path.isdir(directory):
        raise DatasetError(f"DatasetFolder: {directory} is not a folder")
    classes = sorted(e.name for e in os.scandir(directory) if e.is_dir())
    if not classes:
        raise DatasetError(f"DatasetFolder: no class folders in {directory}")
    return classes, {c: i for i, c in enumerate(classes)}


def has_file_allowed_extension(filename, extensions):
    return filename.lower().endswith(tuple(extensions))


def make_dataset(directory, class_to_idx, extensions=None, is_valid_file=None,
                 allow_empty=False):  # fmt: skip
    """``(path, class_index)`` for every accepted file, classes in order, files sorted."""
    if (extensions is None) == (is_valid_file is None):
        raise ValueError("make_dataset: give exactly one of extensions and is_valid_file")
    if is_valid_file is None:

        def is_valid_file(path):
            return has_file_allowed_extension(path, extensions)

    samples = []
    for name in sorted(class_to_idx):
        found = 0
        for dirpath, _, files in sorted(os.walk(os.path.join(directory, name), followlinks=True)):
            for f in sorted(files):
                path = os.path.join(dirpath, f)
                if is_valid_file(path):
                    samples.append((path, class_to_idx[name]))
                    found += 1
        if not found and not allow_empty:
            what = f"extensions {', '.join(extensions)}" if extensions else "is_valid_file"
            raise DatasetError(
                f"DatasetFolder: no valid file for class {name!r} in "
                f"{os.path.join(directory, name)} (accepted: {what})"
            )
    return samples


def pil_loader(path):
    Image = pil_or_none()
    if Image is None:
        raise ImportError("ImageFolder needs Pillow to decode images: pip install pillow")
    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except (OSError, SyntaxError, ValueError) as e:
        raise DatasetError(f"{path}: cannot decode the image ({e})") from e


default_loader = pil_loader


class DatasetFolder(VisionDataset):
    """Samples in ``root/<class>/**/<file>``; ``loader(path)`` reads one sample."""

    def __init__(self, root, loader, extensions=None, transform=None, target_transform=None,
                 is_valid_file=None, allow_empty=False):  # fmt: skip
        super().__init__(root, transform, target_transform)
        self.classes, self.class_to_idx = self.find_classes(self.root)
        self.samples = make_dataset(
            self.root, self.class_to_idx, extensions, is_valid_file, allow_empty
        )
        self.loader = loader
        self.extensions = extensions
        self.targets = [t for _, t in self.samples]

    @staticmethod
    def find_classes(directory):
        return find_classes(directory)

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, target = self.samples[index]
        return self._apply(self.loader(path), target)


class ImageFolder(DatasetFolder):
    """Images in ``root/<class>/...``, decoded by Pillow as RGB."""

    def __init__(self, root, transform=None, target_transform=None, loader=default_loader,
                 is_valid_file=None, allow_empty=False):  # fmt: skip
        super().__init__(
            root, loader, IMG_EXTENSIONS if is_valid_file is None else None, transform,
            target_transform, is_valid_file, allow_empty,
        )  # fmt: skip
        self.imgs = self.samples
