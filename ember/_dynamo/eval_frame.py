"""``OptimizedModule``, the type ``ember.compile`` gives a compiled module.

As in PyTorch the original module is the submodule ``_orig_mod`` (so ``state_dict`` keys
carry the ``_orig_mod.`` prefix and ``parameters()`` are the original ones), attributes the
wrapper lacks are read from it, and calls go through the compiled callable.
"""

from ember.nn import Module

__all__ = ["OptimizedModule"]


class OptimizedModule(Module):
    """A module wrapped by a compiler: ``_orig_mod`` is the module, calls run compiled."""

    def __init__(self, mod, dynamo_ctx=None):
        super().__init__()
        self._orig_mod = mod
        self.dynamo_ctx = dynamo_ctx  # the compiled callable, or None to call mod directly
        self.training = mod.training

    def forward(self, *args, **kwargs):
        if self.dynamo_ctx is None:
            return self._orig_mod(*args, **kwargs)
        return self.dynamo_ctx(*args, **kwargs)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["_orig_mod"], name)
