"""Files for data sets: checksums, downloads that verify before they land, safe extraction."""

import gzip
import hashlib
import http.client
import os
import tarfile
import tempfile
import urllib.error
import urllib.request

CHUNK = 1 << 20


class DatasetError(RuntimeError):
    """A data set's files are missing, corrupt or not what the reader expects."""


def md5sum(path):
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def open_maybe_gzip(path):
    """Open ``path`` for binary reading, decompressing it when it is gzip."""
    with open(path, "rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def read_bytes(path):
    """All bytes of ``path`` (gunzipped when it is gzip); a damaged gzip is a DatasetError."""
    try:
        with open_maybe_gzip(path) as f:
            return f.read()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DatasetError(f"{path}: cannot read the file ({e})") from e


def download_url(url, folder, filename, md5=None, timeout=60):
    """Fetch ``url`` into ``folder/filename``.

    The bytes go to a temporary file in ``folder``; only a complete transfer whose MD5 matches
    ``md5`` is renamed into place, so a failed or corrupt download never leaves a file behind.
    """
    os.makedirs(folder, exist_ok=True)
    target = os.path.join(folder, filename)
    fd, tmp = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=folder)
    try:
        digest = hashlib.md5(usedforsecurity=False)
        received = 0
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            expected = resp.headers.get("Content-Length")
            try:
                for chunk in iter(lambda: resp.read(CHUNK), b""):
                    out.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
            except http.client.IncompleteRead as e:
                received += len(e.partial)
                raise DatasetError(
                    f"download of {url} was cut off after {received} bytes"
                    + (f" of {expected}" if expected else "")
                ) from e
        if expected is not None and received != int(expected):
            raise DatasetError(
                f"download of {url} was cut off after {received} of {expected} bytes"
            )
        if md5 is not None and digest.hexdigest() != md5:
            raise DatasetError(
                f"download of {url} has MD5 {digest.hexdigest()}, expected {md5}; "
                "the file was not kept"
            )
        os.replace(tmp, target)
    except (urllib.error.URLError, OSError) as e:
        raise DatasetError(f"cannot download {url}: {e}") from e
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return target


def download_from_mirrors(mirrors, folder, filename, md5):
    """Try each mirror in turn; raise the last error when all fail."""
    error = None
    for mirror in mirrors:
        try:
            return download_url(mirror + filename, folder, filename, md5)
        except DatasetError as e:
            error = e
    raise error


def extract_tar(archive, folder):
    """Extract a tar archive, refusing links, devices and paths that leave ``folder``."""
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="data")
    except (tarfile.TarError, OSError, EOFError) as e:
        raise DatasetError(f"{archive}: cannot extract the archive ({e})") from e
