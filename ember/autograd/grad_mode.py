"""Switches for gradient recording: no_grad, enable_grad, set_grad_enabled, inference_mode."""

import functools

__all__ = [
    "no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
    "is_inference_mode_enabled",
]  # fmt: skip

# One mutable cell read on every op: cheaper than a thread-local lookup.
GRAD_ENABLED = [True]


def is_grad_enabled():
    return GRAD_ENABLED[0]


class _GradSwitch:
    """Base of the grad-mode context managers; each also works as a decorator."""

    mode = True

    def __enter__(self):
        self._prev = GRAD_ENABLED[0]
        GRAD_ENABLED[0] = self.mode

    def __exit__(self, *exc):
        GRAD_ENABLED[0] = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__._fresh(self):
                return fn(*args, **kwargs)

        return wrapper

    @staticmethod
    def _fresh(instance):
        return instance.__class__()

    def clone(self):
        return self.__class__()


class _BareDecoratorSwitch(_GradSwitch):
    """A switch that also decorates without parentheses: ``@no_grad`` as well as ``@no_grad()``."""

    def __new__(cls, orig_func=None):
        self = super().__new__(cls)
        return self(orig_func) if callable(orig_func) else self

    def __init__(self, orig_func=None):
        pass


class no_grad(_BareDecoratorSwitch):
    """Context manager and decorator that turns off gradient recording."""

    mode = False


class enable_grad(_BareDecoratorSwitch):
    """Context manager and decorator that turns gradient recording on."""

    mode = True


class set_grad_enabled(_GradSwitch):
    """Sets gradient recording on or off; takes effect at once, as in PyTorch."""

    def __init__(self, mode):
        self.mode = bool(mode)
        self._prev = GRAD_ENABLED[0]
        GRAD_ENABLED[0] = self.mode

    def __enter__(self):
        pass

    @staticmethod
    def _fresh(instance):
        return set_grad_enabled(instance.mode)


_INFERENCE = [False]


def is_inference_mode_enabled():
    return _INFERENCE[0]


class inference_mode(_GradSwitch):
    """Like no_grad (ember keeps no extra bookkeeping that inference mode could skip)."""

    def __init__(self, mode=True):
        self.mode = not mode
        self.inference = bool(mode)

    def __enter__(self):
        super().__enter__()
        self._prev_inf = _INFERENCE[0]
        _INFERENCE[0] = self.inference

    def __exit__(self, *exc):
        _INFERENCE[0] = self._prev_inf
        return super().__exit__(*exc)

    @staticmethod
    def _fresh(instance):
        return inference_mode(instance.inference)

    def __call__(self, fn):
        if not callable(fn) or isinstance(fn, bool):
            return inference_mode(fn)
        return super().__call__(fn)
