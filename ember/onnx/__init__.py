"""``ember.onnx.export``: a model as an ONNX file, for onnxruntime and other ONNX runtimes.

The model is traced with ``ember.fx`` (so its forward must be traceable: no Python control
flow on tensor values), run once on ``args`` to learn every value's shape and dtype, and each
operation is written with the ``onnx`` package's helpers; weights are initializers named by
their parameter paths. Sizes read from tensors (``x.size(0)``, ``x.shape``) stay operations
in the graph, so axes named in ``dynamic_axes`` take other sizes at run time. An operation
ember cannot write raises `UnsupportedOperatorError` naming it and where it is used.

``onnx`` is an optional dependency: ``pip install onnx`` (and ``onnxruntime`` to run files).
"""

import enum

from ember.onnx._export import UnsupportedOperatorError, export_model

__all__ = ["export", "is_in_onnx_export", "TrainingMode", "UnsupportedOperatorError"]

DEFAULT_OPSET = 18
_exporting = False


class TrainingMode(enum.IntEnum):
    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


def is_in_onnx_export():
    return _exporting


def export(model, args=(), f=None, *, kwargs=None, export_params=True, verbose=False,
           training=TrainingMode.EVAL, input_names=None, output_names=None,
           opset_version=None, dynamic_axes=None, do_constant_folding=True,
           keep_initializers_as_inputs=None, dynamo=False, **unused):  # fmt: skip
    """Write ``model`` run on ``args`` to ``f`` (a path or a binary file) as ONNX."""
    global _exporting
    try:
        import onnx
    except ImportError:
        raise ImportError("ember.onnx.export needs the onnx package: pip install onnx") from None
    if training == TrainingMode.TRAINING:
        raise NotImplementedError("ember.onnx.export writes models in eval mode only")
    opset = DEFAULT_OPSET if opset_version is None else int(opset_version)
    if opset < 17:
        raise ValueError(f"ember.onnx.export: opset_version must be at least 17, got {opset}")
    _exporting = True
    try:
        return export_model(onnx, model, args, f, kwargs, export_params, input_names,
                            output_names, opset, dynamic_axes, do_constant_folding)  # fmt: skip
    finally:
        _exporting = False
