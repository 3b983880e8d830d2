"""Padding layers: constant, zero, reflection, replication and circular."""

from ember._ops._geometry import _ntuple
from ember.nn import functional as F
from ember.nn.modules.module import Module

__all__ = [
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
]


class _Pad(Module):
    mode = "constant"
    dims = 1

    def __init__(self, padding, value=0.0):
        super().__init__()
        self.padding = _ntuple(2 * self.dims)(padding)
        self.value = value

    def forward(self, input):
        if self.mode == "constant":
            return F.pad(input, self.padding, "constant", self.value)
        return F.pad(input, self.padding, self.mode)

    def extra_repr(self):
        if self.mode == "constant" and type(self).__name__.startswith("Constant"):
            return f"padding={self.padding}, value={self.value}"
        return f"{self.padding}"


def _make(name, mode, dims, takes_value=False):
    def __init__(self, padding, value=0.0):
        _Pad.__init__(self, padding, value if takes_value else 0.0)

    if takes_value:

        def __init__(self, padding, value):  # noqa: F811
            _Pad.__init__(self, padding, value)

    return type(name, (_Pad,), {"mode": mode, "dims": dims, "__init__": __init__})


ConstantPad1d = _make("ConstantPad1d", "constant", 1, True)
ConstantPad2d = _make("ConstantPad2d", "constant", 2, True)
ConstantPad3d = _make("ConstantPad3d", "constant", 3, True)
ZeroPad1d = _make("ZeroPad1d", "constant", 1)
ZeroPad2d = _make("ZeroPad2d", "constant", 2)
ZeroPad3d = _make("ZeroPad3d", "constant", 3)
ReflectionPad1d = _make("ReflectionPad1d", "reflect", 1)
ReflectionPad2d = _make("ReflectionPad2d", "reflect", 2)
ReflectionPad3d = _make("ReflectionPad3d", "reflect", 3)
ReplicationPad1d = _make("ReplicationPad1d", "replicate", 1)
ReplicationPad2d = _make("ReplicationPad2d", "replicate", 2)
ReplicationPad3d = _make("ReplicationPad3d", "replicate", 3)
CircularPad1d = _make("CircularPad1d", "circular", 1)
CircularPad2d = _make("CircularPad2d", "circular", 2)
CircularPad3d = _make("CircularPad3d", "circular", 3)
