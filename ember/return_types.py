"""torch.return_types: the named-tuple classes of ops that return several tensors
(``max``, ``sort``, ``topk``, ``linalg_eigh``, ...)."""

from ember._ops._return_types import REGISTRY


def __getattr__(name):
    try:
        return REGISTRY[name]
    except KeyError:
        raise AttributeError(f"module 'ember.return_types' has no attribute '{name}'") from None


def __dir__():
    return sorted(REGISTRY)
