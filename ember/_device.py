"""ember.device, and the one place that decides which device a ``device=`` argument gives."""

__all__ = ["device", "resolve_device"]


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


def resolve_device(dev, op_name):
    """The device that ``op_name`` puts its tensors on, given a ``device=`` argument.

    ember computes on the CPU only for now. Asking for another device raises what PyTorch's
    CPU-only build raises there (an AssertionError for CUDA, a RuntimeError for a bare device
    index), so that a program never silently gets CPU tensors where it asked for GPU ones.
    """
    if dev is None:
        return CPU
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
    if dev.type == "cuda":
        raise AssertionError(
            f"{op_name}: ember has no GPU backend yet, so it cannot put tensors on '{dev}' "
            "(ember.cuda.is_available() is False; choose device='cpu')"
        )
    raise NotImplementedError(f"{op_name}: ember has no '{dev.type}' device; use device='cpu'")


def get_default_device():
    """The device factories put tensors on when not given one: the CPU, ember's only device."""
    return CPU


def set_default_device(dev):
    """Accepts the CPU (or None); another device raises as a factory asked for it would."""
    resolve_device(dev, "set_default_device")
