"""NumPy kernels of scaled dot-product attention: softmax(q k^T * scale + bias) v, fused.

One call does the whole forward (or backward) for a stack of heads, so no intermediate
becomes a tensor of its own: the scores buffer is biased, turned into the softmax weights
and differentiated in place. The softmax runs on oneDNN's fused kernel where it can (see
``ember.backends.onednn.softmax``), else in NumPy with row sums as matrix-vector products
with a vector of ones (BLAS adds a 64-long row several times faster than NumPy's reduction
over the last axis). The stacked products run on oneDNN's matmul where it takes them (see
``ember.backends.onednn.matmul``: all heads at once on every core, reading the head views
where they lie); else NumPy's, with transposed right-hand operands of small products
copied to row order first (OpenBLAS's kernel for small transposed matrices is markedly
slower; see ``ember._ops.linalg``).

Arrays: ``q`` (B..., L, E), ``k`` (B..., S, E), ``v`` (B..., S, Ev) with equal batch dims,
``bias`` None or broadcastable to (B..., L, S), ``keep`` None or the dropout multiplier
(0 or 1 / (1 - p)) of shape (B..., L, S).
"""

import numpy as np

from ember.backends.onednn import matmul as onednn_matmul
from ember.backends.onednn import softmax as onednn_softmax

_SMALL_MATRIX = 64 * 64  # right-hand operands up to this size are copied to row order


def _row_order(m):
    """The transposed view ``m``, copied C-contiguous when its matrices are small."""
    if m.shape[-1] * m.shape[-2] <= _SMALL_MATRIX and not m.flags.c_contiguous:
        return np.ascontiguousarray(m)
    return m


def _product(a, b, out=None):
    """a @ b (into ``out`` when given): on oneDNN where it takes the operands, else NumPy."""
    found = onednn_matmul.product(a, b, out=out)
    return np.matmul(a, _row_order(b), out=out) if found is None else found


def _row_sums(a):
    """Sums over the last axis of ``a``, keeping it (a product with a vector of ones)."""
    return np.matmul(a, np.ones(a.shape[-1], a.dtype))[..., None]


def _softmax_(w):
    """Softmax over the last axis of the C-contiguous ``w``, in place."""
    if onednn_softmax.forward(w, out=w) is None:
        np.subtract(w, w.max(axis=-1, keepdims=True), out=w)
        np.exp(w, out=w)
        np.divide(w, _row_sums(w), out=w)


def _softmax_grad_(d, w):
    """The softmax input gradient w (d - sum(d w)) from its output ``w``, in place in ``d``."""
    if onednn_softmax.backward(d, w, out=d) is None:
        np.subtract(d, _row_sums(d * w), out=d)
        np.multiply(d, w, out=d)


def _masked_rows(bias):
    """Where every position of a row is masked out (-inf): such rows attend to nothing and
    give zeros, as PyTorch's attention kernels do. None if there are none."""
    if bias is None:
        return None
    dead = np.isneginf(bias).all(axis=-1, keepdims=True)
    return dead if dead.any() else None


def attention_forward(q, k, v, bias, keep, scale):
    """(out, q * scale, softmax weights before dropout)."""
    q_scaled = np.multiply(q, scale, dtype=q.dtype)
    weights = _product(q_scaled, k.swapaxes(-1, -2))
    if bias is not None:
        np.add(weights, bias, out=weights)
    dead = _masked_rows(bias)
    if dead is not None:  # finite scores there, then zero weights: no NaN in either pass
        np.copyto(weights, 0, where=dead)
    _softmax_(weights)
    if dead is not None:
        np.copyto(weights, 0, where=dead)
    # The output is laid out as the query is, as PyTorch's kernel lays it out: for a GPT
    # block's head views of one (batch, length, heads * features) projection, their
    # transpose back to (batch, length, ...) is then contiguous and needs no copy.
    shape = q.shape[:-1] + v.shape[-1:]
    rows_inner = q.strides[-1] == q.itemsize and min(q.strides[:-1]) >= q.strides[-1] * q.shape[-1]
    out = np.empty_like(q, shape=shape) if rows_inner else np.empty(shape, q.dtype)
    _product(weights if keep is None else weights * keep, v, out=out)
    return out, q_scaled, weights


def attention_backward(g, q_scaled, k, v, weights, keep, scale):
    """(dq, dk, dv, d_scores) from the output gradient ``g`` and the forward's results;
    d_scores is the gradient of the biased scores, so of a float bias."""
    dv = _product((weights if keep is None else weights * keep).swapaxes(-1, -2), g)
    d_scores = _product(g, v.swapaxes(-1, -2))
    if keep is not None:
        np.multiply(d_scores, keep, out=d_scores)
    _softmax_grad_(d_scores, weights)
    dq = _product(d_scores, k)
    np.multiply(dq, scale, out=dq)
    dk = _product(d_scores.swapaxes(-1, -2), q_scaled)
    return dq, dk, dv, d_scores
