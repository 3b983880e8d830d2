"""``spawn`` and ``start_processes``: ``fn(i, *args)`` in ``nprocs`` new processes.

The processes are started by one ``mpiexec -n nprocs``, so they share one MPI world and
``init_process_group(rank=i, world_size=nprocs)`` in them needs no further rendezvous
(processes started by Python's own multiprocessing would be MPI singletons, which MPICH
cannot connect to each other). Each child prepares itself as a multiprocessing spawn child
does (the parent's ``sys.path``, working directory and main module, imported as
``__mp_main__``), so ``fn`` may be a function of the main script. A child whose ``fn`` raises
writes its traceback to a file; mpiexec then ends the others, and the parent raises
``ProcessRaisedException`` with that traceback.
"""

import multiprocessing.spawn
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from multiprocessing.reduction import ForkingPickler

__all__ = [
    "spawn",
    "start_processes",
    "ProcessContext",
    "ProcessException",
    "ProcessRaisedException",
    "ProcessExitedException",
]


class ProcessException(Exception):
    def __init__(self, msg, error_index, pid):
        super().__init__(msg)
        self.msg, self.error_index, self.pid = msg, error_index, pid

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid)


class ProcessRaisedException(ProcessException):
    """A spawned process raised; the message holds its traceback."""


class ProcessExitedException(ProcessException):
    """A spawned process exited with a non-zero code (or was killed by a signal)."""

    def __init__(self, msg, error_index, error_pid, exit_code, signal_name=None):
        super().__init__(msg, error_index, error_pid)
        self.exit_code, self.signal_name = exit_code, signal_name

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid, self.exit_code, self.signal_name)


def threads_per_process(nprocs):
    """Environment giving each of ``nprocs`` processes its share of the cores for BLAS and
    OpenMP (unless OMP_NUM_THREADS is set): all of them spinning up a thread per core would
    oversubscribe the machine (measured: a 2-rank DDP step 9x slower on 2 cores)."""
    if "OMP_NUM_THREADS" in os.environ:
        return {}
    return {"OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 1) // nprocs))}


def _mpiexec():
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = beside if os.path.exists(beside) else shutil.which("mpiexec")
    if found is None:
        raise RuntimeError(
            "torch.multiprocessing.spawn: mpiexec not found; install it with "
            "`pip install mpich mpi4py` (or `pip install ember[distributed]`)"
        )
    return found


class ProcessContext:
    """The running processes of one ``start_processes`` call."""

    def __init__(self, popen, workdir, nprocs):
        self._popen, self._workdir, self.nprocs = popen, workdir, nprocs
        self.processes = [popen]

    def pids(self):
        return [self._popen.pid]

    def join(self, timeout=None):
        """True once every process has exited successfully; raise if one failed."""
        try:
            code = self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        try:
            failure = self._first_failure()
            if failure is not None:
                rank, pid, text = failure
                msg = f"\n\n-- Process {rank} terminated with the following error:\n{text}"
                raise ProcessRaisedException(msg, rank, pid)
            if code != 0:
                name = signal.Signals(-code).name if code < 0 else None
                what = f"signal {name}" if name else f"exit code {code}"
                raise ProcessExitedException(
                    f"process 0 terminated with {what}", 0, self._popen.pid, code, name
                )
        finally:
            shutil.rmtree(self._workdir, ignore_errors=True)
        return True

    def _first_failure(self):
        reports = [f for f in os.listdir(self._workdir) if f.startswith("error-")]
        if not reports:
            return None
        paths = sorted((os.path.join(self._workdir, f) for f in reports), key=os.path.getmtime)
        with open(paths[0]) as f:
            rank, pid, text = f.read().split("\n", 2)
        return int(rank), int(pid), text


def start_processes(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """Run ``fn(i, *args)`` for i in ``range(nprocs)``, each in its own process."""
    if start_method not in ("spawn", "fork", "forkserver"):
        raise ValueError(f"start_processes: unknown start_method {start_method!r}")
    if nprocs < 1:
        raise ValueError(f"start_processes: nprocs must be at least 1, got {nprocs}")
    from ember import _torch_alias

    workdir = tempfile.mkdtemp(prefix="ember-spawn-")
    preparation = multiprocessing.spawn.get_preparation_data("ember-spawn")
    preparation.pop("authkey", None)  # a secret of this process: it stays out of the file
    payload = {
        "preparation": preparation,
        "torch_alias": any(isinstance(f, _torch_alias.TorchAliasFinder) for f in sys.meta_path),
    }
    try:
        with open(os.path.join(workdir, "payload.pkl"), "wb") as f:
            f.write(bytes(ForkingPickler.dumps(payload)))
            f.write(bytes(ForkingPickler.dumps((fn, tuple(args)))))
        cmd = [_mpiexec(), "-n", str(nprocs), sys.executable, "-m", "ember.multiprocessing._child"]
        env = {**os.environ, **threads_per_process(nprocs)}
        popen = subprocess.Popen([*cmd, workdir], stdin=subprocess.DEVNULL, env=env)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    context = ProcessContext(popen, workdir, nprocs)
    if not join:
        return context
    while not context.join():
        pass
    return None


def spawn(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """``start_processes`` with PyTorch's ``spawn`` signature."""
    return start_processes(fn, args, nprocs, join, daemon, start_method)
