"""Channel-wise dropout (dropout1d/2d/3d, feature_alpha_dropout), with PyTorch's handling of
inputs without a batch dimension and of the input sizes it accepts only with a warning.

Each draws one keep-or-drop decision per channel and broadcasts it over the channel's feature
map: the mask has shape (N, C, 1, ...) for batched input and (C, 1, ...) for unbatched input.
"""

import warnings

from ember._ops.creation import rand
from ember._ops.nn_misc import _check_p

__all__ = ["dropout1d", "dropout2d", "dropout3d", "feature_alpha_dropout"]

_SELU_NEGATIVE_SATURATION = 1.7580993408473766  # SELU's scale * alpha


def _skips(input, p, training):
    return not training or p == 0.0 or input.numel() == 0


def _channel_keep(input, p, batched):
    """1 for kept and 0 for dropped channels, shaped to broadcast over each feature map."""
    if batched and input.dim() < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    lead = 2 if batched else 1
    shape = tuple(input.shape[:lead]) + (1,) * (input.dim() - lead)
    return (rand(shape, device=input.device) >= p).to(input.dtype)


def _channel_dropout(input, p, training, inplace, batched):
    if _skips(input, p, training):
        return input
    mask = _channel_keep(input, p, batched) * (0.0 if p == 1.0 else 1.0 / (1.0 - p))
    return input.mul_(mask) if inplace else input * mask


def _warn_deprecated_size(op, input, spatial):
    warnings.warn(
        f"{op}: Received a {input.dim()}-D input to {op}, which is deprecated and will result "
        "in an error in a future release. To retain the behavior and silence this warning, "
        f"please use dropout instead. Note that {op} exists to provide channel-wise dropout on "
        f"inputs with {spatial} spatial dimensions, a channel dimension, and an optional batch "
        f"dimension (i.e. {spatial + 1}D or {spatial + 2}D inputs).",
        UserWarning,
        stacklevel=3,
    )


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, L) or (C, L) input with probability ``p``."""
    _check_p(p)
    if input.dim() not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D input. Note "
            "that dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
            "dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D "
            "inputs)."
        )
    return _channel_dropout(input, p, training, inplace, batched=input.dim() == 3)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, H, W) input with probability ``p``.

    As in PyTorch, 3D input is taken as batched (N, C, L) with a warning, and other sizes are
    accepted with a deprecation warning and treated as batched too.
    """
    _check_p(p)
    if input.dim() not in (3, 4):
        _warn_deprecated_size("dropout2d", input, 2)
    if input.dim() == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            UserWarning,
            stacklevel=2,
        )
    return _channel_dropout(input, p, training, inplace, batched=True)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input with probability ``p``.

    Other sizes are accepted with a deprecation warning and treated as unbatched, as in PyTorch.
    """
    _check_p(p)
    if input.dim() not in (4, 5):
        _warn_deprecated_size("dropout3d", input, 3)
    return _channel_dropout(input, p, training, inplace, batched=input.dim() == 5)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Alpha dropout with one decision per channel: dropped channels take SELU's negative
    saturation value, and an affine map restores zero mean and unit variance."""
    _check_p(p)
    if _skips(input, p, training):
        return input
    keep = _channel_keep(input, p, batched=True)
    alpha = _SELU_NEGATIVE_SATURATION
    a = ((alpha * alpha * p + 1) * (1 - p)) ** -0.5
    scale, shift = keep * a, (keep - 1) * (alpha * a) + alpha * a * p
    return input.mul_(scale).add_(shift) if inplace else input * scale + shift
