"""The seam between ops and array libraries: `xp(array)` and the kernel registry.

An op's `forward` does its array work through `kernels.<name>(array, ...)`. The registry
holds, for each kernel name, the implementations backends registered, each with the device
it serves, the dtypes it takes and a priority. A call picks those that serve the device and
dtype of its first array argument, highest priority first; an implementation may return
`DECLINE` for a call it cannot run (oneDNN refusing a geometry), and the next one runs. The
NumPy backend registers a fallback for every CPU kernel, so a CPU call always finds one.

Backends live in packages beside this file (`numpy/`, `onednn/`, room for `cupy/`); they are
the only places that import an array library's compiled extensions or ctypes. Ops that work
the same on every array library are written once against `xp(array)`.
"""

import contextlib
import threading
from dataclasses import dataclass

import numpy as np

DECLINE = object()
"""Returned by an implementation that cannot run this call; the next candidate runs."""

_DEVICE_OF_BACKEND = {"numpy": "cpu", "onednn": "cpu", "cupy": "cuda"}


@dataclass(frozen=True)
class _Implementation:
    backend: str
    fn: object
    dtypes: frozenset | None
    priority: int


_implementations: dict[str, list[_Implementation]] = {}
_candidates_cache: dict[tuple, tuple] = {}
_allowed = threading.local()


def xp(array):
    """The array namespace of ``array``: NumPy for NumPy arrays, CuPy for CuPy arrays."""
    if isinstance(array, np.ndarray | np.generic):
        return np
    module = type(array).__module__.split(".")[0]
    if module == "cupy":
        import cupy

        return cupy
    return np


def device_of(array):
    """'cpu' or 'cuda': the device an array lives on."""
    return "cpu" if xp(array) is np else "cuda"


def register(name, backend, *, dtypes=None, priority=0):
    """Decorator: ``fn`` implements kernel ``name`` on ``backend`` for ``dtypes`` (None: all)."""
    if backend not in _DEVICE_OF_BACKEND:
        raise ValueError(f"register: unknown backend {backend!r}")

    def add(fn):
        accepted = None if dtypes is None else frozenset(np.dtype(d) for d in dtypes)
        entry = _Implementation(backend, fn, accepted, priority)
        entries = _implementations.setdefault(name, [])
        entries.append(entry)
        entries.sort(key=lambda e: -e.priority)
        _candidates_cache.clear()
        return fn

    return add


def backends_for(name):
    """The backends that registered kernel ``name``, highest priority first."""
    return [e.backend for e in _implementations.get(name, ())]


def registered_backends():
    """Every backend with at least one kernel, in a stable order."""
    seen = {e.backend for entries in _implementations.values() for e in entries}
    return [b for b in _DEVICE_OF_BACKEND if b in seen]


@contextlib.contextmanager
def only(*backends):
    """Within the block (this thread), dispatch only to ``backends``: tests run each backend."""
    previous = getattr(_allowed, "backends", None)
    _allowed.backends = frozenset(backends)
    try:
        yield
    finally:
        _allowed.backends = previous


def _candidates(name, device, dtype, allowed):
    key = (name, device, dtype, allowed)
    found = _candidates_cache.get(key)
    if found is None:
        found = tuple(
            (e.backend, e.fn)
            for e in _implementations.get(name, ())
            if _DEVICE_OF_BACKEND[e.backend] == device
            and (e.dtypes is None or dtype in e.dtypes)
            and (allowed is None or e.backend in allowed)
        )
        _candidates_cache[key] = found
    return found


def _first_array(args):
    for a in args:
        if hasattr(a, "dtype") and hasattr(a, "shape"):
            return a
    raise TypeError("kernel call without an array argument")


def call(name, *args, **kwargs):
    """Run kernel ``name`` on the first backend that serves its arguments and does not decline."""
    array = _first_array(args)
    allowed = getattr(_allowed, "backends", None)
    for backend, fn in _candidates(name, device_of(array), array.dtype, allowed):
        result = fn(*args, **kwargs)
        if result is not DECLINE:
            if not hasattr(_allowed, "last"):
                _allowed.last = {}
            _allowed.last[name] = backend
            return result
    raise NotImplementedError(
        f"{name}: no kernel for {device_of(array)} arrays of dtype {array.dtype}"
        + ("" if allowed is None else f" among backends {sorted(allowed)}")
    )


def last_used(name):
    """The backend that ran the last call of kernel ``name`` in this thread (None: none yet)."""
    return getattr(_allowed, "last", {}).get(name)


class _Kernels:
    """``kernels.conv2d(x, w, ...)`` is ``call("conv2d", x, w, ...)``. Each name's dispatcher
    is made on first use and kept as an attribute, so later lookups cost no call here."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)

        def dispatch(*args, **kwargs):
            return call(name, *args, **kwargs)

        dispatch.__name__ = name
        setattr(self, name, dispatch)
        return dispatch


kernels = _Kernels()
