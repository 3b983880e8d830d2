"""ember.device and the array library behind each device type ('cpu' -> NumPy, 'cuda' -> CuPy)."""

import numpy as np

__all__ = ["device"]


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


CPU = device("cpu")


def cupy_or_none():
    try:
        import cupy

        return cupy if cupy.cuda.runtime.getDeviceCount() > 0 else None
    except Exception:
        return None


def array_module(dev):
    """The array library that holds tensors on ``dev``."""
    if dev.type == "cpu":
        return np
    cp = cupy_or_none()
    if cp is None:
        raise RuntimeError(
            "Found no NVIDIA driver or CuPy: ember's CUDA tensors need CuPy and a GPU "
            "(pip install cupy-cuda12x)"
        )
    return cp


def to_device(d):
    if d is None:
        return CPU
    if isinstance(d, device):
        return d
    if isinstance(d, int):
        return device("cuda", d)
    return device(d)
