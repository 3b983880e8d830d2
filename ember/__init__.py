"""ember: a deep-learning framework with PyTorch's API, written in Python on NumPy.

``import ember as torch`` and a PyTorch program runs.
"""

__version__ = "2.13.0+ember.0.1.0"  # the PyTorch release ember follows + its own release

import numpy as _np

# PyTorch computes inf and nan silently; so does ember (see docs/compat.md).
_np.seterr(divide="ignore", invalid="ignore", over="ignore")

from ember._allocator import tune as _tune_malloc

_tune_malloc()

from ember import (
    _dtype,
    _legacy_tensor_types,
    accelerator,
    amp,
    autograd,
    backends,
    cuda,
    hub,
    linalg,
)
from ember._device import device, get_default_device, set_default_device
from ember._dtype import (
    bfloat16,
    bool,
    cdouble,
    complex64,
    complex128,
    double,
    dtype,
    finfo,
    float,
    float8_e4m3fn,
    float8_e4m3fnuz,
    float8_e5m2,
    float8_e5m2fnuz,
    float16,
    float32,
    float64,
    get_default_dtype,
    half,
    iinfo,
    int,
    int8,
    int16,
    int32,
    int64,
    long,
    promote_types,
    qint8,
    qint32,
    quint8,
    set_default_dtype,
    short,
    uint8,
)
from ember._layout import (
    _mkldnn,
    jagged,
    layout,
    sparse_bsc,
    sparse_bsr,
    sparse_coo,
    sparse_csc,
    sparse_csr,
    strided,
)
from ember._ops import (
    _methods,  # noqa: F401  (binds every Tensor method and operator)
    _promotion,
)
from ember._ops import complex as _complex_ops
from ember._ops import elementwise as _elementwise
from ember._ops.complex import *
from ember._ops.construction import *
from ember._ops.counting import *
from ember._ops.creation import *
from ember._ops.elementwise import *
from ember._ops.foreach import *
from ember._ops.index import *
from ember._ops.linalg import *
from ember._ops.linalg_legacy import *
from ember._ops.normalization import rms_norm
from ember._ops.pointwise_extra import *
from ember._ops.reduce import *
from ember._ops.scatter_family import *
from ember._ops.shape import *
from ember._ops.special import (
    digamma,
    i0,
    igamma,
    igammac,
    lgamma,
    mvlgamma,
    polygamma,
    sinc,
    xlogy,  # PyTorch's NaN and zero-gradient rules at x == 0, unlike elementwise's
)
from ember._ops.spectral import istft, stft
from ember._ops.splits_copies import *
from ember._ops.statistics import *
from ember._ops.storage import UntypedStorage
from ember._ops.tensor_queries import *
from ember._ops.trapezoid import *
from ember._ops.typed_storage import LEGACY_STORAGES as _LEGACY_STORAGES
from ember._ops.typed_storage import TypedStorage, is_storage
from ember._ops.windows import *
from ember._printing import set_printoptions
from ember._qscheme import (
    per_channel_affine,
    per_channel_affine_float_qparams,
    per_channel_symmetric,
    per_tensor_affine,
    per_tensor_symmetric,
    qscheme,
)
from ember._random import (
    Generator,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    seed,
    set_rng_state,
)
from ember._runtime import *
from ember._tensor import Size, Tensor
from ember.autograd import Function
from ember.autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)

abs = _elementwise.abs
complex, polar = _complex_ops.complex, _complex_ops.polar  # the differentiable ones
round = _elementwise.round
pow = _elementwise.pow

(
    FloatTensor, DoubleTensor, HalfTensor, BFloat16Tensor, LongTensor, IntTensor, ShortTensor,
    CharTensor, ByteTensor, BoolTensor,
) = _legacy_tensor_types.make_types("ember", is_cuda=False)  # fmt: skip
globals().update(_LEGACY_STORAGES)  # FloatStorage, LongStorage, ...
cfloat = complex64
inf, nan, pi, e, newaxis = _np.inf, _np.nan, _np.pi, _np.e, None  # Python floats
uint16 = uint32 = uint64 = None
contiguous_format = channels_last = preserve_format = "memory_format"


def result_type(tensor1, tensor2):
    return _dtype.result_type(tensor1, tensor2)


def can_cast(from_, to):
    return _promotion.can_cast(from_, to)


autocast = amp.autocast


def _lazy_submodules():
    """nn, optim, utils and the rest import ember themselves, so they load last."""
    import importlib

    for name in ("nn", "optim", "utils", "cli", "jit", "compiler", "_dynamo", "library",
                 "overrides", "version", "func"):  # fmt: skip
        try:
            globals()[name] = importlib.import_module(f"ember.{name}")
        except ImportError as e:
            if e.name != f"ember.{name}":
                raise


_lazy_submodules()

import ember.ao.quantization  # quantized tensors in checkpoints (small; ember.ao.nn stays lazy)
from ember import fft, return_types, special
from ember._compile.frontend import compile  # after the ops: it maps them to kernels
from ember._serialization.file_reader import PyTorchFileReader
from ember.jit import ScriptFunction, ScriptModule
from ember.library import ops
from ember.serialization import load, load_safetensors, save, save_safetensors


def _assert(condition, message):
    """``torch._assert``: a check that symbolic tracing can record (here, a plain one)."""
    if not condition:
        raise AssertionError(message)


def __getattr__(name):
    """Top-level functional ops that live in nn.functional (``ember.relu``, ``ember.softmax``)."""
    if name in _FROM_FUNCTIONAL:
        from ember.nn import functional

        return getattr(functional, name)
    # imported on first use: MPI starts then; the others cost import time most programs skip
    if name in ("distributed", "multiprocessing", "fx", "onnx", "distributions", "ao",
                "quantization", "testing", "profiler"):  # fmt: skip
        import importlib

        return importlib.import_module(f"ember.{name}")
    raise AttributeError(f"module 'ember' has no attribute '{name}'")


_FROM_FUNCTIONAL = frozenset({
    "relu", "relu_", "softmax", "log_softmax", "dropout", "conv1d", "conv2d", "conv3d",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "embedding_bag", "layer_norm",
    "group_norm", "batch_norm",
    "instance_norm", "embedding", "selu", "celu", "prelu", "rrelu", "hardshrink", "threshold",
    "max_pool1d", "max_pool2d", "avg_pool1d", "adaptive_avg_pool1d", "adaptive_max_pool1d",
    "pixel_shuffle", "pixel_unshuffle", "cosine_similarity", "pairwise_distance", "bilinear",
    "alpha_dropout", "feature_dropout", "softplus", "hardtanh", "binary_cross_entropy_with_logits",
    "channel_shuffle", "pdist", "celu_", "selu_", "rrelu_", "max_pool1d_with_indices",
    "max_pool3d",
})  # fmt: skip

from ember.backends.onednn.matmul import keep_blas_on_calling_thread as _one_blas_thread

_one_blas_thread()  # last: the import has loaded NumPy's and SciPy's BLAS by now
