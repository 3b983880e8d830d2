"""Linear maps, dropout, embedding and other small nn functionals."""

import numpy as np

from ember._dtype import float64
from ember._ops._numpy_kwargs import numpy_kwargs
from ember._ops._util import norm_dim
from ember._ops.creation import rand
from ember._ops.index import out_of_range
from ember._ops.linalg import einsum, vector_norm
from ember._ops.shape import broadcast_shapes, broadcast_tensors
from ember._random import np_generator
from ember._tensor import Tensor, wrap
from ember.autograd.function import PROFILER, ArrayFunction
from ember.autograd.grad_mode import GRAD_ENABLED
from ember.autograd.inplace import inplace as write_inplace
from ember.backends.numpy.activation_grad import plain_arrays
from ember.backends.numpy.scatter_rows import sum_rows_into
from ember.backends.onednn import matmul as onednn_matmul

__all__ = [
    "linear",
    "bilinear",
    "dropout",
    "alpha_dropout",
    "embedding",
    "one_hot",
    "normalize",
    "cosine_similarity",
    "pairwise_distance",
    "pixel_shuffle",
    "pixel_unshuffle",
    "identity",
]


class Linear(ArrayFunction):
    """x @ W^T + b over the last dim of x, as one op.

    Inputs of more than two dims are flattened to one matrix first: a single BLAS call, where
    NumPy's stacked matmul over a strided (for example transposed) input is several times
    slower.
    """

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        rows = x.reshape(-1, x.shape[-1]) if x.ndim > 2 else x
        out = onednn_matmul.matmul(rows, w.T)
        if x.ndim > 2:
            out = out.reshape(*x.shape[:-1], w.shape[0])
        if b is not None:
            out += b
        return _same_dtype(out, x)  # rounded once, after the bias

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        if (
            not GRAD_ENABLED[0]
            and PROFILER[0] is None  # a profiler or FLOP counter sees the products as ops
            and plain_arrays(g._data, x._data, w._data)
            and x._data.dtype.kind == "f"
        ):
            return _linear_grads(ctx.needs_input_grad, g._data, x._data, w._data)
        gx = None
        if ctx.needs_input_grad[0]:
            gx = (g.reshape(-1, g.shape[-1]) @ w).reshape(x.shape) if g.dim() > 2 else g @ w
        gw = gb = None
        if ctx.needs_input_grad[1]:
            g2 = g.reshape(-1, g.shape[-1])
            gw = g2.t() @ x.reshape(-1, x.shape[-1])
        if ctx.needs_input_grad[2]:
            gb = g.reshape(-1, g.shape[-1]).sum(0)
        return gx, gw, gb


def _linear_grads(needs, g, x, w):
    """Linear's gradients on arrays, for a backward pass that is not recorded: three NumPy
    calls where the formulas in ember ops take ten ops (reshapes, transposes, products and a
    sum, each with its call overhead). The bias gradient, a column sum, is a product with a
    vector of ones (BLAS sums 1024 x 512 float32 rows in 34 us here; NumPy's sum takes 91)."""
    g2 = g.reshape(-1, g.shape[-1])
    gx = gw = gb = None
    if needs[0]:
        gx = _same_dtype(onednn_matmul.matmul(g2, w).reshape(x.shape), x)
    if needs[1]:
        gw = _same_dtype(onednn_matmul.matmul(g2.T, x.reshape(-1, x.shape[-1])), w)
    if needs[2]:
        gb = _same_dtype(np.matmul(np.ones(g2.shape[0], g2.dtype), g2), g)
    return tuple(None if a is None else wrap(a) for a in (gx, gw, gb))


def _same_dtype(result, like):
    """NumPy multiplies bfloat16 matrices into float32; the result keeps the input's dtype."""
    return result if result.dtype == like.dtype else result.astype(like.dtype)


def linear(input, weight, bias=None):
    """input @ weight.T + bias."""
    x, w = input._data, weight._data  # (their arrays: checked on every call, cheaply)
    if 1 <= w.ndim <= 2 and x.ndim and x.shape[-1] == w.shape[-1] and x.dtype == w.dtype:
        return Linear.apply(input, weight, bias)
    if weight.dim() > 2:
        raise RuntimeError(
            f"linear: expected a weight of at most 2 dimensions (out_features, in_features), "
            f"got weight of size {list(weight.shape)}"
        )
    if input.shape[-1] != weight.shape[-1]:
        rows = int(np.prod(input.shape[:-1])) if input.dim() > 1 else 1
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({rows}x{input.shape[-1]} and "
            f"{weight.shape[-1]}x{weight.shape[0]})"
        )
    if input.dtype != weight.dtype:
        raise RuntimeError(
            f"mat1 and mat2 must have the same dtype, but got {input.dtype.name.capitalize()} "
            f"and {weight.dtype.name.capitalize()}"
        )
    return Linear.apply(input, weight, bias)


def bilinear(input1, input2, weight, bias=None):
    out = einsum("...i,oij,...j->...o", input1, weight, input2)
    return out + bias if bias is not None else out


def identity(input):
    return input


class _ScaleMask(ArrayFunction):
    """x * mask with a fixed mask array (dropout's forward and backward)."""

    @staticmethod
    def forward(ctx, x, mask):
        ctx.mask = mask  # drawn at random in the caller, never a user tensor: kept as is
        return x * mask

    @staticmethod
    def backward(ctx, g):
        return _ScaleMask.apply(g, ctx.mask), None


def _check_p(p):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout_mask(shape, p, dtype):
    keep = np_generator().random(shape, dtype=np.float32) >= p
    return (keep * (1.0 / (1.0 - p) if p < 1 else 0.0)).astype(dtype)


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero elements with probability ``p`` and scale the rest by 1 / (1 - p) in training."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    mask = _dropout_mask(input.shape, p, input._data.dtype)
    if inplace:
        return write_inplace(input, lambda t: _ScaleMask.apply(t, mask))
    return _ScaleMask.apply(input, mask)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout that keeps SELU's self-normalising mean and variance."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    alpha_p = -_SELU_ALPHA * _SELU_SCALE
    keep = (rand(input.shape, dtype=float64, device=input.device) >= p).to(float64)
    a = (1 - p + alpha_p**2 * p * (1 - p)) ** -0.5
    b = -a * alpha_p * p
    scale, shift = (keep * a).to(input.dtype), ((1 - keep) * (a * alpha_p) + b).to(input.dtype)
    return input.mul_(scale).add_(shift) if inplace else input * scale + shift


class Embedding(ArrayFunction):
    @staticmethod
    def forward(ctx, weight, indices, padding_idx, scale_grad_by_freq=False):
        ctx.shape, ctx.padding_idx = weight.shape, padding_idx
        ctx.scale_grad_by_freq = scale_grad_by_freq
        ctx.save_for_backward(indices)
        return weight[indices]

    @staticmethod
    def backward(ctx, g):
        (indices,) = ctx.saved_tensors
        if ctx.scale_grad_by_freq:  # each row's gradient divided by how often it was picked
            idx = indices._data
            counts = np.bincount(idx.reshape(-1), minlength=ctx.shape[0])
            g = g * wrap((1.0 / counts[idx]).astype(g._data.dtype)[..., None])
        return _EmbeddingGrad.apply(g, ctx.shape, indices, ctx.padding_idx), None, None, None


class _EmbeddingGrad(ArrayFunction):
    """Rows of ``g`` summed into the weight rows they were picked from (padding row zero)."""

    @staticmethod
    def forward(ctx, g, shape, indices, padding_idx):
        ctx.padding_idx = padding_idx
        ctx.save_for_backward(indices)
        flat = indices.reshape(-1)
        out = sum_rows_into(shape, flat, g.reshape(flat.size, shape[1]))
        if padding_idx is not None:
            out[padding_idx] = 0
        return out

    @staticmethod
    def backward(ctx, gg):
        (indices,) = ctx.saved_tensors
        picked = Embedding.apply(gg, indices, None)
        if ctx.padding_idx is not None:  # the padding row's gradient was zeroed
            picked = picked * (indices != ctx.padding_idx).unsqueeze(-1).to(picked.dtype)
        return picked, None, None, None


def embedding(
    input,
    weight,
    padding_idx=None,
    max_norm=None,
    norm_type=2.0,
    scale_grad_by_freq=False,
    sparse=False,
):
    """Rows of ``weight`` picked by the integer tensor ``input``."""
    idx = input._data if isinstance(input, Tensor) else np.asarray(input)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got {input.dtype} instead (while checking arguments for "
            "embedding)"
        )
    n = weight.shape[0]
    bad = out_of_range(idx, n)
    if bad is not None:
        raise IndexError(
            f"embedding(): index out of range in self: index {bad} for a weight of {n} rows "
            f"(valid indices are 0 to {n - 1})"
        )
    if padding_idx is not None and not -n <= padding_idx < n:
        raise AssertionError(
            f"Padding_idx must be within num_embeddings: padding_idx={padding_idx} for a weight "
            f"of {n} rows"
        )
    if padding_idx is not None and padding_idx < 0:
        padding_idx += n
    if max_norm is not None:
        renorm_rows_(weight, idx, max_norm, norm_type)
    indices = input if isinstance(input, Tensor) and input._data is idx else idx
    return Embedding.apply(weight, indices, padding_idx, bool(scale_grad_by_freq))


def renorm_rows_(weight, idx, max_norm, norm_type):
    """Scale the rows of ``weight`` picked by ``idx`` down to norm ``max_norm``, in place."""
    rows = np.unique(idx)
    norms = np.linalg.norm(weight._data[rows], ord=norm_type, axis=1, keepdims=True)
    scale = np.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
    weight._data[rows] *= scale.astype(weight._data.dtype)


def one_hot(tensor, num_classes=-1):
    idx = tensor._data
    if idx.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if num_classes == -1:
        if not idx.size:
            raise RuntimeError("one_hot: Can not infer total number of classes from empty tensor.")
        num_classes = int(idx.max()) + 1
    if idx.size and idx.min() < 0:
        raise RuntimeError(f"one_hot: Class values must be non-negative, got {int(idx.min())}.")
    if idx.size and idx.max() >= num_classes:
        raise RuntimeError(
            f"one_hot: Class values must be smaller than num_classes ({num_classes}), "
            f"got {int(idx.max())}."
        )
    return wrap((idx[..., None] == np.arange(num_classes)).astype(np.int64))


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    if input.dim() == 0:  # dim 0 or -1 of a 0-d tensor is the whole tensor
        norm_dim(dim, 0, "normalize")
        dim = None
    denom = vector_norm(input, p, dim, keepdim=True).clamp(min=eps)
    return input / denom


def _check_pair(op, x1, x2):
    """Both inputs floating point and broadcastable; the error names the op and shapes."""
    if not (x1.dtype.is_floating_point and x2.dtype.is_floating_point):
        raise RuntimeError(
            f"{op}: expected floating point inputs, but got {x1.dtype} and {x2.dtype}"
        )
    try:
        broadcast_shapes(x1.shape, x2.shape)
    except RuntimeError:
        raise RuntimeError(
            f"{op}: the shapes of x1 {list(x1.shape)} and x2 {list(x2.shape)} cannot be "
            "broadcast together"
        ) from None


@numpy_kwargs
def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """x1 . x2 / (max(|x1|, eps) * max(|x2|, eps)) along ``dim``, with broadcasting."""
    _check_pair("cosine_similarity", x1, x2)
    x1, x2 = broadcast_tensors(x1, x2)
    n1 = vector_norm(x1, 2, dim).clamp(min=eps)
    n2 = vector_norm(x2, 2, dim).clamp(min=eps)
    return (x1 * x2).sum(dim) / (n1 * n2)


@numpy_kwargs
def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """The p-norm of x1 - x2 + eps over the last dimension, with broadcasting."""
    _check_pair("pairwise_distance", x1, x2)
    return vector_norm(x1 - x2 + eps, p, -1, keepdim)


def pixel_shuffle(input, upscale_factor):
    r = upscale_factor
    *lead, c, h, w = input.shape
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    n = len(lead)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    r = downscale_factor
    *lead, c, h, w = input.shape
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    n = len(lead)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)
