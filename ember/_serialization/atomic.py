"""Writing a file so that it either appears complete or not at all.

The bytes go to a temporary file in the destination's folder (so the final rename stays on one
file system), which is flushed and fsynced, then renamed over the destination with
``os.replace`` (atomic on POSIX and Windows); the folder is fsynced so the rename survives a
power cut. A failure or a kill at any moment leaves the previous file untouched.
"""

import contextlib
import os
import tempfile

__all__ = ["atomic_write"]


@contextlib.contextmanager
def atomic_write(path):
    """A binary file object whose contents replace ``path`` when the block ends without error."""
    path = os.path.realpath(os.fspath(path))  # write through a symlink, as open() would
    folder, base = os.path.split(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)


def _mode_for(path):
    """The permissions of the file being replaced, or those a new file would get."""
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_folder(folder):
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
