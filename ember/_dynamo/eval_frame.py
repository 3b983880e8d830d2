"""``OptimizedModule``, the type PyTorch gives a compiled module.

``ember.compile`` returns the module it is given, so no ember object is an ``OptimizedModule``;
the class exists for the ``isinstance`` checks libraries make before unwrapping ``_orig_mod``.
"""

from ember.nn import Module

__all__ = ["OptimizedModule"]


class OptimizedModule(Module):
    """A module wrapped by a compiler: ``_orig_mod`` is the module, calls go straight to it."""

    def __init__(self, mod, dynamo_ctx=None):
        super().__init__()
        self._orig_mod = mod
        self.dynamo_ctx = dynamo_ctx

    def forward(self, *args, **kwargs):
        return self._orig_mod(*args, **kwargs)
