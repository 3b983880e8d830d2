"""Scales and zero points: how real numbers are mapped to 8-bit integers.

Weights use PyTorch's default for dynamic quantization: signed int8, symmetric around 0
(zero point 0), the scale covering the largest magnitude: ``amax / 127.5``, per tensor or per
output channel. Activations are quantized per call to unsigned 8 bits over their observed
range, which always includes 0; as PyTorch's x86 kernels do, the range is reduced to 7 bits
(0..127) so that the int16 sums inside the int8 kernels cannot saturate.
"""

import numpy as np

_EPS = float(np.finfo(np.float32).eps)


def weight_qparams(w, per_channel):
    """(scale, int8 values) of a float32 (out, in) weight, per tensor or per output row."""
    if per_channel:
        amax = np.maximum(-w.min(axis=1), w.max(axis=1))
    else:
        amax = np.asarray(max(-float(w.min()), float(w.max())))
    amax = np.maximum(amax, 0.0)
    scale = np.maximum(amax / 127.5, _EPS).astype(np.float32)
    inverse = (np.float32(1.0) / scale).astype(np.float32)  # as PyTorch rounds: x * (1 / s)
    q = np.rint(w * (inverse[:, None] if per_channel else inverse))
    q = np.clip(q, -128, 127).astype(np.int8)
    return scale, q


def affine_qparams(low, high, qmin, qmax):
    """Scale and zero point mapping [low, high] (widened to include 0) onto [qmin, qmax]."""
    low, high = min(float(low), 0.0), max(float(high), 0.0)
    scale = (high - low) / (qmax - qmin)
    if float(np.float32(scale)) == 0.0 or not np.isfinite(1.0 / np.float32(scale)):
        scale = 0.1
    scale = float(np.float32(scale))
    from_low, from_high = qmin - low / scale, qmax - high / scale
    error_low, error_high = abs(qmin) - abs(low / scale), abs(qmax) - abs(high / scale)
    initial = from_low if error_low < error_high else from_high
    zero_point = int(np.clip(np.rint(initial), qmin, qmax))
    return scale, zero_point


def quantize_activations(x, reduce_range=True):
    """uint8 values of a float32 array, and their scale and zero point."""
    qmax = 127 if reduce_range else 255
    if x.size == 0:
        return x.astype(np.uint8), 1.0, 0
    scale, zero_point = affine_qparams(x.min(), x.max(), 0, qmax)
    q = np.clip(np.rint(x * np.float32(1.0 / scale)) + zero_point, 0, qmax).astype(np.uint8)
    return q, scale, zero_point
