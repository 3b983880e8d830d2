"""nn.functional's in-place activations (celu_, selu_, rrelu_), Gumbel-softmax sampling,
pairwise distances within one set (pdist) and the triplet loss with a custom distance."""

import numpy as np

from ember._ops.activation import _inplace, celu, rrelu, selu, softmax
from ember._ops.elementwise import minimum
from ember._ops.linalg import vector_norm
from ember._ops.loss import _reduce
from ember._ops.nn_misc import pairwise_distance
from ember._random import np_generator
from ember._tensor import wrap

__all__ = [
    "celu_", "selu_", "rrelu_", "gumbel_softmax", "pdist", "triplet_margin_with_distance_loss",
]  # fmt: skip


def celu_(input, alpha=1.0):
    """:func:`celu` written into ``input``."""
    return celu(input, alpha, inplace=True)


def selu_(input):
    """:func:`selu` written into ``input``."""
    return selu(input, inplace=True)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    """:func:`rrelu` written into ``input`` (random slopes when ``training``)."""
    return _inplace(lambda t: rrelu(t, lower, upper, training))(input)


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    """softmax((logits + g) / tau) with g ~ Gumbel(0, 1); with ``hard`` the one-hot of its
    argmax in the forward pass and the soft sample's gradient (straight-through)."""
    gumbels = -np.log(np_generator().exponential(size=logits.shape))
    g = wrap(gumbels.astype(logits._data.dtype)).to(logits.device)
    y_soft = softmax((logits + g) / tau, dim)
    if not hard:
        return y_soft
    index = y_soft.argmax(dim, keepdim=True)
    y_hard = y_soft.new_zeros(y_soft.shape).scatter(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft


def pdist(input, p=2):
    """The p-norm distances between the rows of an (N, M) input, for every pair i < j, in
    row-major order: N (N - 1) / 2 values."""
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if input._data.dtype.kind not in "f":
        raise RuntimeError(f"pdist only supports floating-point dtypes, got: {input.dtype}")
    if p < 0:
        raise RuntimeError(f"pdist only supports non-negative p values, got: {p}")
    i, j = np.triu_indices(input.shape[0], 1)
    diff = input[wrap(i)] - input[wrap(j)]
    if p == 0:  # the count of differing entries, with a zero gradient as in PyTorch
        return diff.abs().sign().sum(-1)
    return vector_norm(diff, p, dim=-1)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):  # fmt: skip
    """max(d(a, p) - d(a, n) + margin, 0), d a user's distance (pairwise_distance by
    default); with ``swap`` d(a, n) is min(d(a, n), d(p, n))."""
    op = "triplet_margin_with_distance_loss"
    if margin <= 0:
        raise ValueError(f"{op}: expected margin to be greater than 0, got {margin} instead")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    dims = (anchor.ndim, positive.ndim, negative.ndim)
    if len(set(dims)) != 1:
        raise RuntimeError(
            f"{op}: The anchor, positive, and negative tensors are expected to have the same "
            f"number of dimensions, but got: anchor {dims[0]}D, positive {dims[1]}D, and "
            f"negative {dims[2]}D inputs"
        )
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = minimum(d_neg, dist(positive, negative))
    loss = (margin + d_pos - d_neg).clamp(min=0)
    return _reduce(loss, reduction)
