"""Writing a file so that it either appears complete or not at all.

The bytes go to a temporary file in the destination's folder (so the final rename stays on one
file system), which is flushed and fsynced, then renamed over the destination with
``os.replace`` (atomic on POSIX and Windows); the folder is fsynced so the rename survives a
power cut. A failure or a kill at any moment leaves the previous file untouched.

A writer that is killed cannot remove its temporary file, so each one is named
``.NAME.<pid>.<random>.tmp`` and locked (``flock``) while it is written; the next write of the
same ``NAME`` removes the temporary files of writers that are gone (process not running and
lock free). A file of a live writer, or one whose state cannot be told, is never touched.
"""

import contextlib
import os
import tempfile

try:
    import fcntl
except ImportError:  # Windows: the process check alone decides
    fcntl = None

__all__ = ["atomic_write"]


@contextlib.contextmanager
def atomic_write(path):
    """A binary file object whose contents replace ``path`` when the block ends without error."""
    path = os.path.realpath(os.fspath(path))  # write through a symlink, as open() would
    folder, base = os.path.split(path)
    _remove_abandoned(folder, base)
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.{os.getpid()}.", suffix=".tmp", dir=folder)
    try:
        _lock(fd)
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


def _lock(fd):
    if fcntl is not None:
        with contextlib.suppress(OSError):  # a file system without locks: the pid decides
            fcntl.flock(fd, fcntl.LOCK_EX)


def _remove_abandoned(folder, base):
    """Delete ``.{base}.<pid>.*.tmp`` files whose writer process is gone."""
    prefix = f".{base}."
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid = name[len(prefix) : -len(".tmp")].partition(".")[0]
        if pid.isdigit() and int(pid) > 0 and not _running(int(pid)):
            _remove_if_unlocked(os.path.join(folder, name))


def _running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else, or cannot be told
        return True
    return True


def _remove_if_unlocked(path):
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDWR)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises while a writer holds it
            os.unlink(path)
        finally:
            os.close(fd)


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
