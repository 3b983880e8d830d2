"""The entry point of one process started by ``ember.multiprocessing.spawn`` (under mpiexec)."""

import multiprocessing.spawn
import os
import pickle
import sys
import traceback


def main(workdir):
    from mpi4py import MPI

    rank = MPI.COMM_WORLD.Get_rank()
    with open(os.path.join(workdir, "payload.pkl"), "rb") as f:
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
