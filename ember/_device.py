"""ember.device, and the one place that decides which device a ``device=`` argument gives.

A device is also a context manager: inside ``with ember.device("meta"):`` factories called
without ``device=`` put their tensors there. That default, like ``set_default_device``'s, is
per thread, as in PyTorch.
"""

import threading

__all__ = ["device", "resolve_device", "get_default_device", "set_default_device"]


class device:
    """A device such as ``device('cpu')`` or ``device('cuda', 0)``, mirroring ``torch.device``."""

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            type, index = type.type, type.index
        elif isinstance(type, str) and ":" in type:
            type, _, idx = type.partition(":")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}:{idx}'")
            index = int(idx)
        if type not in ("cpu", "cuda", "meta"):
            raise RuntimeError(
                f"Expected one of cpu, cuda, meta device type at start of device string: {type}"
            )
        self.type = type
        self.index = index

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        idx = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{idx})"

    def __enter__(self):
        dev = resolve_device(self, "device.__enter__")
        _default.entered = (*_default.entered, dev)
        return self

    def __exit__(self, *exc):
        _default.entered = _default.entered[:-1]


CPU = device("cpu")
META = device("meta")


class _Defaults(threading.local):
    """This thread's default device: ``entered`` holds the devices of the enclosing ``with``
    blocks (innermost last), ``set`` the one ``set_default_device`` chose. The class values are
    a new thread's, so that reading them, which every factory call does, needs no ``getattr``
    fallback (a missing thread-local attribute costs an exception)."""

    entered = ()
    set = CPU


_default = _Defaults()


def cupy_or_none():
    try:
        import cupy

        return cupy if cupy.cuda.runtime.getDeviceCount() > 0 else None
    except Exception:
        return None


def resolve_device(dev, op_name):
    """The device that ``op_name`` puts its tensors on, given a ``device=`` argument (None: the
    default device, see ``get_default_device``).

    ember computes on the CPU only for now; the meta device holds shapes without data. Asking
    for another device raises what PyTorch's CPU-only build raises there (an AssertionError
    for CUDA, a RuntimeError for a bare device index), so that a program never silently gets
    CPU tensors where it asked for GPU ones.
    """
    if dev is None:
        return get_default_device()
    if dev is CPU or dev is META:
        return dev
    if isinstance(dev, int) and not isinstance(dev, bool):
        raise RuntimeError(
            f"{op_name}: device index {dev} names an accelerator, and ember has no GPU backend "
            "yet (ember.cuda.is_available() is False); use device='cpu'"
        )
    if not isinstance(dev, device | str):
        raise TypeError(
            f"{op_name}: expected a device, a device string or None for device, "
            f"got {type(dev).__name__}"
        )
    dev = device(dev)
    if dev.type == "cpu":
        return CPU
    if dev.type == "meta":
        return META
    if dev.type == "cuda":
        raise AssertionError(
            f"{op_name}: ember has no GPU backend yet, so it cannot put tensors on '{dev}' "
            "(ember.cuda.is_available() is False; choose device='cpu')"
        )
    raise NotImplementedError(f"{op_name}: ember has no '{dev.type}' device; use device='cpu'")


def get_default_device():
    """The device factories put tensors on when not given one: that of the innermost
    ``with device(...)`` block, else the one ``set_default_device`` chose, else the CPU."""
    entered = _default.entered
    return entered[-1] if entered else _default.set


def set_default_device(dev):
    """Make ``dev`` (cpu or meta; None: the CPU) the default device of this thread's
    factories; a device ember cannot serve raises as a factory asked for it would."""
    _default.set = CPU if dev is None else resolve_device(dev, "set_default_device")
