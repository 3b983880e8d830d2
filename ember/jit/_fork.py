"""``torch.jit.fork`` and ``wait``: PyTorch runs a forked call eagerly and synchronously when the
JIT is off; ember does the same and hands back a completed future. Both are deprecated in
PyTorch 2.13 and warn as there."""

import warnings


class Future:
    """The result of a call started with ``fork``: already complete."""

    def __init__(self, fn, args, kwargs):
        self._value = self._error = None
        try:
            self._value = fn(*args, **kwargs)
        except Exception as e:
            self._error = e

    def done(self):
        return True

    def wait(self):
        if self._error is not None:
            raise self._error
        return self._value

    value = wait

    def then(self, callback):
        return Future(callback, (self,), {})


def fork(func, *args, **kwargs):
    """Call ``func(*args, **kwargs)`` and return a completed ``Future`` holding its result."""
    _deprecated("fork")
    return Future(func, args, kwargs)


def wait(future):
    """The value of a ``Future`` returned by ``fork`` (its exception, if the call raised)."""
    _deprecated("wait")
    return future.wait()


def _deprecated(name):
    warnings.warn(
        f"torch.jit.{name} is deprecated in PyTorch; ember runs the call at once, so a plain "
        "call does the same",
        DeprecationWarning,
        stacklevel=3,
    )
