"""Shared pieces of the distributions: broadcasting parameters, probs <-> logits, caching."""

import functools
import math

from ember import _dtype
from ember._ops.creation import tensor
from ember._ops.shape import broadcast_tensors
from ember._tensor import Tensor

__all__ = [
    "broadcast_all", "check_probs_or_logits", "clamp_probs", "lazy_property", "log_of",
    "logits_to_probs", "probs_to_logits", "sum_rightmost",
]  # fmt: skip


def broadcast_all(*values):
    """Tensors of one broadcast shape; numbers become tensors of the tensors' (or default) dtype."""
    for v in values:
        if not isinstance(v, Tensor | int | float):
            raise ValueError(
                f"Input arguments must all be instances of numbers or Tensors, got {type(v)}"
            )
    like = next((v for v in values if isinstance(v, Tensor)), None)
    dtype = like.dtype if like is not None else _dtype.get_default_dtype()
    tensors = [v if isinstance(v, Tensor) else tensor(float(v), dtype=dtype) for v in values]
    return tuple(broadcast_tensors(*tensors))


def check_probs_or_logits(probs, logits):
    """Exactly one of the two parametrisations must be given."""
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")


def clamp_probs(probs):
    """Probabilities kept within [eps, 1 - eps] of their dtype (finite logits)."""
    eps = _dtype.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def logits_to_probs(logits, is_binary=False):
    """Sigmoid of binary logits, softmax of categorical ones (over the last dim)."""
    if is_binary:
        return logits.sigmoid()
    return logits.softmax(-1)


def probs_to_logits(probs, is_binary=False):
    """log(p / (1 - p)) for binary probabilities, log(p) for categorical ones (p clamped)."""
    clamped = clamp_probs(probs)
    if is_binary:
        return clamped.log() - (-clamped).log1p()
    return clamped.log()


class lazy_property:  # noqa: N801 (named as in torch.distributions.utils)
    """A property computed on first access and then stored on the instance."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        functools.update_wrapper(self, wrapped)

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return self
        value = self.wrapped(instance)
        instance.__dict__[self.wrapped.__name__] = value
        return value


def log_of(value):
    """log of a tensor or of a Python number."""
    return value.log() if isinstance(value, Tensor) else math.log(value)


def sum_rightmost(value, dim):
    """``value`` summed over its ``dim`` rightmost dims (none when dim is 0)."""
    if dim == 0 or not isinstance(value, Tensor):
        return value
    return value.reshape(*value.shape[: value.dim() - dim], -1).sum(-1)
