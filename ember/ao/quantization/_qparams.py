"""Scales and zero points: how real numbers are mapped to 8-bit integers.

Weights use PyTorch's default for dynamic quantization: signed int8, symmetric around 0
(zero point 0), the scale covering the largest magnitude: ``amax / 127.5``, per tensor or per
output channel. Activations are quantized per call to unsigned 8 bits over their observed
range, which always includes 0; as PyTorch's x86 kernels do, the range is reduced to 7 bits
(0..127) so that the int16 sums inside the int8 kernels cannot saturate.
"""

import math

import numpy as np

_EPS = float(np.finfo(np.float32).eps)
_FLOAT32_OVERFLOW = float(np.finfo(np.float32).max) + 2.0**103
"""The smallest number that float32 rounds to infinity."""
_ZERO = np.float32(0)


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
    if not (math.isfinite(low) and math.isfinite(high)):
        raise RuntimeError(
            f"dynamically quantized layer: its input holds inf or nan (range [{low}, {high}]), "
            "which no int8 scale can represent"
        )
    scale = float(np.float32((high - low) / (qmax - qmin)))
    if scale == 0.0 or 1.0 / scale >= _FLOAT32_OVERFLOW:  # 1 / scale is infinite in float32
        scale = 0.1
    from_low, from_high = qmin - low / scale, qmax - high / scale
    error_low, error_high = abs(qmin) - abs(low / scale), abs(qmax) - abs(high / scale)
    initial = from_low if error_low < error_high else from_high
    zero_point = min(max(round(initial), qmin), qmax)  # round() and rint both round half to even
    return scale, zero_point


def quantize_activations(x, reduce_range=True, out=None):
    """uint8 values of a float32 array (into ``out`` when given), and their scale and zero
    point."""
    qmax = 127 if reduce_range else 255
    if x.size == 0:
        return (x.astype(np.uint8) if out is None else out), 1.0, 0
    low, high = np.minimum.reduce(x, axis=None), np.maximum.reduce(x, axis=None)
    scale, zero_point = affine_qparams(low, high, 0, qmax)
    # NumPy scalars throughout: a Python number costs a conversion per call, which is most
    # of the time at a recurrent step's size
    q = np.multiply(x, np.float32(1.0 / scale), dtype=np.float32)
    np.rint(q, out=q)
    q += np.float32(zero_point)
    np.maximum(q, _ZERO, out=q)
    np.minimum(q, np.float32(qmax), out=q)
    if out is None:
        return q.astype(np.uint8), scale, zero_point
    np.copyto(out, q, casting="unsafe")
    return out, scale, zero_point
