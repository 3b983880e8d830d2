"""Names of ember dtypes in the safetensors header and in PyTorch's pickled storage types."""

from ember import _dtype

__all__ = [
    "SAFETENSORS_CODE", "FROM_SAFETENSORS", "FROM_TORCH_STORAGE", "TORCH_STORAGE",
    "FROM_TORCH_DTYPE",
]  # fmt: skip

SAFETENSORS_CODE = {
    _dtype.bool: "BOOL", _dtype.uint8: "U8", _dtype.int8: "I8", _dtype.int16: "I16",
    _dtype.int32: "I32", _dtype.int64: "I64", _dtype.float16: "F16", _dtype.bfloat16: "BF16",
    _dtype.float32: "F32", _dtype.float64: "F64", _dtype.complex64: "C64",
    _dtype.complex128: "C128",
}  # fmt: skip
FROM_SAFETENSORS = {code: d for d, code in SAFETENSORS_CODE.items()}

# ``torch.FloatStorage`` and friends mark a storage's element type in a pickled checkpoint;
# ``torch.float32`` and friends are dtype values stored in the checkpoint itself.
FROM_TORCH_STORAGE = {
    "BoolStorage": _dtype.bool, "ByteStorage": _dtype.uint8, "CharStorage": _dtype.int8,
    "ShortStorage": _dtype.int16, "IntStorage": _dtype.int32, "LongStorage": _dtype.int64,
    "HalfStorage": _dtype.float16, "BFloat16Storage": _dtype.bfloat16,
    "FloatStorage": _dtype.float32, "DoubleStorage": _dtype.float64,
    "ComplexFloatStorage": _dtype.complex64, "ComplexDoubleStorage": _dtype.complex128,
    "QInt8Storage": _dtype.qint8,
    "QUInt8Storage": _dtype.quint8, "QInt32Storage": _dtype.qint32,
}  # fmt: skip
TORCH_STORAGE = {d: name for name, d in FROM_TORCH_STORAGE.items()}
FROM_TORCH_DTYPE = dict(_dtype._FROM_NAME)
FROM_TORCH_DTYPE.update((d.name, d) for d in (_dtype.qint8, _dtype.quint8, _dtype.qint32))
