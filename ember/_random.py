"""Seeding: ember.manual_seed, ember.Generator and the NumPy generator behind every draw.

ember's random streams are NumPy's (PCG64), so the same seed gives different numbers from
PyTorch's; this difference is documented in docs/compat.md.
"""

import numpy as np

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "get_rng_state", "set_rng_state"]


class Generator:
    """A source of random numbers, mirroring ``torch.Generator``."""

    def __init__(self, device="cpu"):
        from ember._device import resolve_device

        try:
            self.device = resolve_device(device, "Generator")
        except AssertionError as e:  # PyTorch's CPU build raises RuntimeError here
            raise RuntimeError(str(e)) from None
        self._seed = 67280421310721
        self.np = np.random.default_rng(self._seed)

    def manual_seed(self, seed):
        self._seed = int(seed)
        self.np = np.random.default_rng(self._seed)
        return self

    def seed(self):
        self.manual_seed(int(np.random.SeedSequence().entropy) % (2**63))
        return self._seed

    def initial_seed(self):
        return self._seed

    def get_state(self):
        from ember._tensor import wrap

        state = repr(self.np.bit_generator.state).encode()
        return wrap(np.frombuffer(state, dtype=np.uint8).copy())

    def set_state(self, new_state):
        """Restore a state from ``get_state``; anything else raises RuntimeError, as in PyTorch."""
        import ast

        from ember._tensor import Tensor

        if not isinstance(new_state, Tensor) or new_state._data.dtype != np.uint8:
            raise TypeError(
                f"set_state: expected a torch.ByteTensor, but got {type(new_state).__name__}"
            )
        try:  # literal_eval reads Python literals only: nothing in the state is run
            state = ast.literal_eval(bytes(new_state._data.reshape(-1)).decode())
            self.np.bit_generator.state = state
        except (ValueError, TypeError, SyntaxError, KeyError, MemoryError, RecursionError) as e:
            raise RuntimeError(
                f"set_state: the RNG state ({new_state.numel()} bytes) is not one that "
                f"get_rng_state() returned: {type(e).__name__}"
            ) from None
        return self


default_generator = Generator()


def np_generator(generator=None):
    """The NumPy generator for a draw: the given ember Generator's, or the global one."""
    return (generator or default_generator).np


def manual_seed(seed):
    """Seed the global generator (and CuPy's where present)."""
    default_generator.manual_seed(seed)
    return default_generator


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)
