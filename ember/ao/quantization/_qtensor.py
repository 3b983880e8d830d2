"""Quantized tensors: integers with the scale(s) and zero point(s) that give their values.

A `QuantizedTensor` holds its integer values (``int_repr()``), its dtype (qint8, quint8,
qint32) and its scheme; ``dequantize()`` gives the float tensor they stand for. It is for
storing and inspecting quantized weights; arithmetic on it is not provided (dequantize first).
"""

import numpy as np

from ember import _qscheme
from ember._dtype import float32, qint8, qint32, quint8
from ember._ops.creation import from_numpy
from ember._tensor import Tensor

_RANGE = {qint8: (-128, 127), quint8: (0, 255), qint32: (-(2**31), 2**31 - 1)}


def _check_dtype(dtype, op):
    if dtype not in _RANGE:
        raise RuntimeError(
            f"{op}: dtype must be ember.qint8, ember.quint8 or ember.qint32, got {dtype}"
        )


class QuantizedTensor:
    def __init__(self, values, dtype, scheme, scales, zero_points, axis=None):
        self._values, self.dtype, self._scheme = values, dtype, scheme
        self._scales, self._zero_points, self._axis = scales, zero_points, axis

    shape = property(lambda self: tuple(self._values.shape))
    is_quantized = True

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def dim(self):
        return len(self.shape)

    def qscheme(self):
        return self._scheme

    def int_repr(self):
        return from_numpy(self._values.copy())

    def q_scale(self):
        self._per_tensor("q_scale")
        return float(self._scales)

    def q_zero_point(self):
        self._per_tensor("q_zero_point")
        return int(self._zero_points)

    def q_per_channel_scales(self):
        self._per_channel("q_per_channel_scales")
        return from_numpy(np.array(self._scales, np.float64))

    def q_per_channel_zero_points(self):
        self._per_channel("q_per_channel_zero_points")
        return from_numpy(np.array(self._zero_points, np.int64))

    def q_per_channel_axis(self):
        self._per_channel("q_per_channel_axis")
        return self._axis

    def _per_tensor(self, op):
        if self._axis is not None:
            raise RuntimeError(f"{op}: expected a per-tensor quantized tensor, got {self._scheme}")

    def _per_channel(self, op):
        if self._axis is None:
            raise RuntimeError(f"{op}: expected a per-channel quantized tensor, got {self._scheme}")

    def _broadcast(self, values):
        if self._axis is None:
            return values
        shape = [1] * self.dim()
        shape[self._axis] = -1
        return np.asarray(values).reshape(shape)

    def dequantize(self):
        scales = self._broadcast(np.asarray(self._scales, np.float64))
        zero_points = self._broadcast(np.asarray(self._zero_points, np.float64))
        return from_numpy(
            ((self._values.astype(np.float64) - zero_points) * scales).astype(np.float32)
        )

    def __repr__(self):
        return (
            f"QuantizedTensor({self.dequantize()}, dtype={self.dtype}, "
            f"quantization_scheme={self._scheme})"
        )


def quantize_per_tensor(input, scale, zero_point, dtype):
    """``round(input / scale) + zero_point``, clamped to ``dtype``'s range."""
    _check_dtype(dtype, "quantize_per_tensor")
    low, high = _RANGE[dtype]
    values = np.rint(input.detach().numpy().astype(np.float64) / float(scale)) + int(zero_point)
    values = np.clip(values, low, high).astype(dtype.np)
    return QuantizedTensor(values, dtype, _qscheme.per_tensor_affine, float(scale), int(zero_point))


def quantize_per_channel(input, scales, zero_points, axis, dtype):
    """As `quantize_per_tensor`, with one scale and zero point per index along ``axis``."""
    _check_dtype(dtype, "quantize_per_channel")
    x = input.detach().numpy().astype(np.float64)
    s = np.asarray(scales.detach().numpy() if isinstance(scales, Tensor) else scales, np.float64)
    z = np.asarray(
        zero_points.detach().numpy() if isinstance(zero_points, Tensor) else zero_points, np.int64
    )
    if s.shape != (x.shape[axis],) or z.shape != (x.shape[axis],):
        raise RuntimeError(
            f"quantize_per_channel: expected {x.shape[axis]} scales and zero points along axis "
            f"{axis}, got {s.shape} and {z.shape}"
        )
    shape = [1] * x.ndim
    shape[axis] = -1
    low, high = _RANGE[dtype]
    values = np.clip(np.rint(x / s.reshape(shape)) + z.reshape(shape), low, high).astype(dtype.np)
    return QuantizedTensor(values, dtype, _qscheme.per_channel_affine, s, z, axis=axis % x.ndim)


def dequantize(tensor):
    if isinstance(tensor, QuantizedTensor):
        return tensor.dequantize()
    if isinstance(tensor, list | tuple):
        return [dequantize(t) for t in tensor]
    return tensor.to(float32)
