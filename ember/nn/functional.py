"""ember.nn.functional: the functional forms of the nn layers; each name is an op of ember._ops.

The channel rearrangements below (pixel and channel shuffle) are reshapes and permutes of
those ops, with PyTorch's checks of the input shape in front.
"""

from ember._ops import nn_misc as _nn_misc
from ember._ops.activation import *
from ember._ops.attention import *
from ember._ops.conv import *
from ember._ops.embedding_bag import *
from ember._ops.feature_dropout import *
from ember._ops.functional_extra import *
from ember._ops.grid_sample import *
from ember._ops.interpolate import *
from ember._ops.loss import *
from ember._ops.nn_misc import *
from ember._ops.normalization import *
from ember._ops.pad import *
from ember._ops.pool import *
from ember._ops.pool_variants import *


def _check_shuffle(name, input, factor_name, factor):
    if input.dim() < 3:
        raise RuntimeError(
            f"{name} expects input to have at least 3 dimensions, but got input with "
            f"{input.dim()} dimension(s)"
        )
    if factor <= 0:
        raise RuntimeError(f"{name} expects a positive {factor_name}, but got {factor}")


def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r)."""
    r = upscale_factor
    _check_shuffle("pixel_shuffle", input, "upscale_factor", r)
    c = input.shape[-3]
    if c % (r * r):
        raise RuntimeError(
            "pixel_shuffle expects its input's 'channel' dimension to be divisible by the "
            f"square of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}"
        )
    return _nn_misc.pixel_shuffle(input, r)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r^2, H, W)."""
    r = downscale_factor
    _check_shuffle("pixel_unshuffle", input, "downscale_factor", r)
    for dim, what in ((-2, "height"), (-1, "width")):
        if input.shape[dim] % r:
            raise RuntimeError(
                f"pixel_unshuffle expects {what} to be divisible by downscale_factor, but "
                f"input.size({dim})={input.shape[dim]} is not divisible by {r}"
            )
    return _nn_misc.pixel_unshuffle(input, r)


def channel_shuffle(input, groups):
    """Interleave the channels of (N, C, *) from ``groups`` groups: (g, C/g) -> (C/g, g)."""
    if input.dim() < 3:
        raise RuntimeError(
            "channel_shuffle expects input to have at least 3 dimensions, but got input with "
            f"{input.dim()} dimension(s)"
        )
    if groups <= 0:
        raise RuntimeError(
            f"Number of groups to divide channels in must be positive. Value of groups:{groups}"
        )
    n, c, *rest = input.shape
    if c % groups:
        raise RuntimeError(
            f"Number of channels must be divisible by groups. Got {c} channels and {groups} groups."
        )
    x = input.reshape(n, groups, c // groups, *rest).transpose(1, 2)
    return x.reshape(n, c, *rest)


def native_channel_shuffle(input, groups):
    """Same as :func:`channel_shuffle`."""
    return channel_shuffle(input, groups)
