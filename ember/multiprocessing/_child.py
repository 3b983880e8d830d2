"""The entry point of one process started by ``ember.multiprocessing.spawn`` (under mpiexec).

The function and arguments to run arrive pickled, as multiprocessing's own spawn sends them,
in a file the parent process wrote into a private folder of its own (``tempfile.mkdtemp``:
mode 0700). Unpickling runs code, so the child first checks that the folder and the file
belong to this user and that nobody else can write them; it never reads a file a user gave.
"""

import multiprocessing.spawn
import os
import pickle
import sys
import traceback


def _check_private(path, opened=None):
    info = os.stat(path if opened is None else opened.fileno())
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise PermissionError(
            f"ember.multiprocessing: {path} is not private to this user; refusing to unpickle it"
        )


def main(workdir):
    from mpi4py import MPI

    rank = MPI.COMM_WORLD.Get_rank()
    payload_path = os.path.join(workdir, "payload.pkl")
    _check_private(workdir)
    with open(payload_path, "rb") as f:
        _check_private(payload_path, f)
        payload = pickle.load(f)
        if payload["torch_alias"]:
            from ember import _torch_alias

            _torch_alias.install()
        multiprocessing.spawn.prepare(payload["preparation"])
        try:
            fn, args = pickle.load(f)
            fn(rank, *args)
        except BaseException:
            report = os.path.join(workdir, f"error-{rank}")
            with open(report + ".tmp", "w") as out:
                out.write(f"{rank}\n{os.getpid()}\n{traceback.format_exc()}")
            os.replace(report + ".tmp", report)
            sys.stderr.flush()
            os._exit(1)


if __name__ == "__main__":
    main(sys.argv[1])
