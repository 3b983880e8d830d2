"""Quantized tensors in checkpoints, as PyTorch writes them.

A quantized tensor pickles as ``torch._utils._rebuild_qtensor(storage, offset, size, stride,
quantizer_params, requires_grad, hooks)`` on a ``torch.QInt8Storage`` (or QUInt8, QInt32) of
its integers, with ``quantizer_params`` ``(torch.per_tensor_affine, scale, zero_point)`` or
``(torch.per_channel_affine, scales, zero_points, axis)``. Registered with serialization when
this package is imported, so that both ``ember.save`` and the checkpoint loaders handle them.
"""

from collections import OrderedDict

import numpy as np

from ember import _qscheme
from ember._serialization import quantized
from ember._serialization.errors import CheckpointError
from ember._serialization.rebuild import check_layout, storage_array
from ember._tensor import Tensor
from ember.ao.quantization._qtensor import QuantizedTensor


def rebuild_qtensor(
    storage, storage_offset, size, stride, quantizer_params, requires_grad, backward_hooks
):
    """A QuantizedTensor from a checkpoint, each argument checked against the storage."""
    what, name = check_layout(storage, storage_offset, size, stride, requires_grad)
    if requires_grad or backward_hooks:
        raise CheckpointError(f"{what}: the quantized {name} requires grad or carries hooks")
    if not storage.dtype.is_quantized:
        raise CheckpointError(f"{what}: the quantized {name} has a {storage.dtype} storage")
    values = storage_array(storage, storage_offset, size, stride, what, name)
    if not isinstance(values, np.ndarray):
        raise CheckpointError(f"{what}: the quantized {name} can only be loaded to the CPU")
    scheme = quantizer_params[0] if isinstance(quantizer_params, tuple) else None
    if scheme is _qscheme.per_tensor_affine and len(quantizer_params) == 3:
        _, scale, zero_point = quantizer_params
        if isinstance(scale, float) and type(zero_point) is int:
            return QuantizedTensor(values, storage.dtype, scheme, scale, zero_point)
    elif scheme is _qscheme.per_channel_affine and len(quantizer_params) == 4:
        _, scales, zero_points, axis = quantizer_params
        if (
            type(scales) is Tensor
            and type(zero_points) is Tensor
            and type(axis) is int
            and 0 <= axis < len(size)
            and tuple(scales.shape) == tuple(zero_points.shape) == (size[axis],)
        ):
            s, z = scales.numpy().astype(np.float64), zero_points.numpy().astype(np.int64)
            return QuantizedTensor(values, storage.dtype, scheme, s, z, axis=axis)
    raise CheckpointError(
        f"{what}: the quantized {name} has quantizer parameters ember does not load "
        f"({quantizer_params!r:.120}); it loads per_tensor_affine and per_channel_affine"
    )


def _reduce(pickler, q):
    storage, offset, stride = pickler.own_storage(q._values, q.dtype)
    if q._axis is None:
        params = (q.qscheme(), float(q._scales), int(q._zero_points))
    else:
        params = (q.qscheme(), q.q_per_channel_scales(), q.q_per_channel_zero_points(), q._axis)
    rebuild = pickler.torch_global("torch._utils", "_rebuild_qtensor")
    return rebuild, (storage, offset, q.shape, stride, params, False, OrderedDict())


quantized.register(
    {
        "torch._utils._rebuild_qtensor": rebuild_qtensor,
        "torch.per_tensor_affine": _qscheme.per_tensor_affine,
        "torch.per_channel_affine": _qscheme.per_channel_affine,
    },
    {QuantizedTensor: _reduce},
    {_qscheme.qscheme},
)
