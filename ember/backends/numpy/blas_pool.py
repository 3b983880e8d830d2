"""Putting NumPy's OpenBLAS threads to rest before oneDNN's OpenMP threads start work.

After a matrix product OpenBLAS's worker threads spin for about a tenth of a second waiting
for the next one. That suits back-to-back products, but a convolution that follows runs on
another pool (GNU OpenMP's, through oneDNN) whose threads then share cores with spinning
ones: on 2 cores a CNN step took 28 ms instead of 17. `park` ends OpenBLAS's workers (its
own shutdown, the one it runs before a fork); the next product starts them again, which
costs about 40 us, far less than a convolution loses to them.

Ending the workers while another thread is inside OpenBLAS could leave that call waiting,
so `park` does nothing while any thread is alive that ember did not start (tqdm's monitor,
which only wakes to refresh progress bars, aside). Where NumPy's
BLAS is not OpenBLAS, or does not export the calls used here, `park` does nothing.
"""

import ctypes
import threading

_OWN_THREAD_PREFIX = "ember-"
_NO_BLAS_THREAD_TYPES = ("TMonitor",)  # tqdm's progress-bar monitor


_SET_THREADS = (
    "openblas_set_num_threads", "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
)  # fmt: skip
_GET_THREADS = (
    "openblas_get_num_threads", "scipy_openblas_get_num_threads64_",
    "scipy_openblas_get_num_threads",
)  # fmt: skip
"""The thread-count calls of OpenBLAS builds: plain, and NumPy's and SciPy's wheels'."""


def _openblas_paths():
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return []
    return sorted(p for p in paths if p.startswith("/"))


def _first_call(path, names):
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return None
    return next((getattr(lib, name) for name in names if hasattr(lib, name)), None)


def set_threads(n):
    """Set the thread count of each OpenBLAS loaded in this process (NumPy's, once it is
    imported)."""
    for path in _openblas_paths():
        setter = _first_call(path, _SET_THREADS)
        if setter is not None:
            setter(int(n))


def threads():
    """The thread count of each OpenBLAS loaded in this process."""
    getters = (_first_call(path, _GET_THREADS) for path in _openblas_paths())
    return [getter() for getter in getters if getter is not None]


def _loaded_openblas():
    """(running flag, shutdown function) of each OpenBLAS library loaded in this process."""
    found = []
    for path in _openblas_paths():
        try:
            lib = ctypes.CDLL(path)
            found.append((ctypes.c_int.in_dll(lib, "blas_server_avail"), lib.blas_thread_shutdown_))
        except (OSError, ValueError, AttributeError):
            continue
    return found


_pools = None  # found on first use: NumPy has loaded its BLAS by then


def _only_ember_threads():
    main = threading.main_thread()
    return all(
        t is main
        or t.name.startswith(_OWN_THREAD_PREFIX)
        or type(t).__name__ in _NO_BLAS_THREAD_TYPES
        for t in threading.enumerate()
    )


def park():
    """End OpenBLAS's spinning worker threads, if they are running and it is safe to."""
    global _pools
    if _pools is None:
        _pools = _loaded_openblas()
    for running, shutdown in _pools:
        if running.value and _only_ember_threads():
            shutdown()
