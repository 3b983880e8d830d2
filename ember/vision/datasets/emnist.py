"""``EMNIST``: handwritten letters and digits in MNIST's format, six ways of splitting them."""

import os
import re
import shutil
import string
import tempfile
import zipfile

from ember.vision.datasets._utils import DatasetError, download_url
from ember.vision.datasets.mnist import MNIST

# Letters whose upper and lower case look alike; "bymerge" and "balanced" keep one class each.
MERGED = set("cijklmopsuvwxyz")
ALL = set(string.digits + string.ascii_letters)
CLASSES = {
    "byclass": sorted(ALL),
    "bymerge": sorted(ALL - MERGED),
    "balanced": sorted(ALL - MERGED),
    "letters": ["N/A", *string.ascii_lowercase],  # label 0 is unused
    "digits": list(string.digits),
    "mnist": list(string.digits),
}
MEMBER = re.compile(r"emnist-[a-z]+-(train|test)-(images-idx3|labels-idx1)-ubyte\.gz")


class EMNIST(MNIST):
    """Extended MNIST (Cohen et al., 2017): 28x28 grey letters and digits.

    ``split`` is one of ``byclass``, ``bymerge``, ``balanced``, ``letters``, ``digits``,
    ``mnist``; the files are ``emnist-<split>-<train|test>-<images-idx3|labels-idx1>-ubyte``
    (gzipped or not), looked for as MNIST's are. The images are as stored in the files
    (transposed relative to MNIST's), as torchvision returns them. ``download=True`` fetches
    the NIST archive (about 560 MB), checks its MD5 and keeps only the IDX files.
    """

    url = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
    md5 = "58c8d27c78d21e728a6bc7b3cc06412e"
    splits = tuple(CLASSES)
    system_name = "emnist"

    def __init__(self, root, split, **kwargs):
        if split not in CLASSES:
            raise ValueError(
                f"Unknown value '{split}' for argument split. "
                f"Valid values are {{{', '.join(repr(s) for s in self.splits)}}}."
            )
        self.split = split
        self.classes = CLASSES[split]
        super().__init__(root, **kwargs)

    def _stems(self):
        part = "train" if self.train else "test"
        return [
            f"emnist-{self.split}-{part}-{kind}-ubyte" for kind in ("images-idx3", "labels-idx1")
        ]

    def download(self):
        """Fetch the archive into ``raw_folder``, extract its IDX files there, delete it."""
        if self.root is None:
            raise DatasetError("EMNIST: download=True needs a root folder")
        raw = self.raw_folder
        archive = download_url(self.url, raw, "gzip.zip", self.md5)
        try:
            extract_idx_members(archive, raw)
        finally:
            os.remove(archive)
        if not all(self._file(raw, s) for s in self._stems()):
            raise DatasetError(f"EMNIST: {self.url} holds no files for split {self.split!r}")
        return raw

    def extra_repr(self):
        return f"Split: {'Train' if self.train else 'Test'} ({self.split})"


def extract_idx_members(archive, folder):
    """Copy the archive's ``emnist-*.gz`` members into ``folder`` under their base names;
    every other member (and any path inside the names) is ignored."""
    try:
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                name = os.path.basename(info.filename)
                if not MEMBER.fullmatch(name):
                    continue
                fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder)
                try:
                    with os.fdopen(fd, "wb") as out, z.open(info) as src:
                        shutil.copyfileobj(src, out)
                    os.replace(tmp, os.path.join(folder, name))
                finally:
                    if os.path.exists(tmp):
                        os.remove(tmp)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise DatasetError(f"{archive}: cannot extract the archive ({e})") from e
