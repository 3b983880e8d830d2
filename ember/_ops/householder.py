"""Householder reflections of ember.linalg and the torch level: LAPACK's compact QR (geqrf),
the product of its reflectors (householder_product, orgqr) and multiplying by it (ormqr).
The products are written with ember ops, so they are differentiable."""

import numpy as np

from ember._ops._promotion import maybe_out
from ember._ops._return_types import return_type
from ember._ops.linalg_extra import (
    _check_float,
    _check_matrix,
    _check_same_dtype,
    _eye_like,
    _NotDifferentiable,
    _out_tuple,
)
from ember._tensor import wrap

_GeqrfResult = return_type("geqrf", ["a", "tau"])

__all__ = ["geqrf", "householder_product", "orgqr", "ormqr"]


def householder_product(A, tau, *, out=None):
    """The first n columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^H with v_i the i-th column
    of A below the diagonal and 1 on it (LAPACK's orgqr)."""
    op = "linalg.householder_product"
    _check_float(op, A, tau)
    _check_matrix(op, A, square=False)
    m, n = A.shape[-2:]
    k = tau.shape[-1] if tau.ndim else 0
    if m < n:
        raise RuntimeError(
            f"{op}: input.shape[-2] must be greater than or equal to input.shape[-1], but got "
            f"{list(A.shape)}"
        )
    if tau.ndim != A.ndim - 1 or k > n:
        raise RuntimeError(
            f"{op}: input.shape[-1] must be greater than or equal to tau.shape[-1] and tau must "
            f"have one dimension less than input, but got input of shape {list(A.shape)} and "
            f"tau of shape {list(tau.shape)}"
        )
    if tau.shape[:-1] != A.shape[:-2]:
        raise RuntimeError(
            f"{op}: Expected batch dimensions of tau to be equal to input.shape[:-2], but got "
            f"{list(tau.shape[:-1])} and {list(A.shape[:-2])}"
        )
    _check_same_dtype(op, A, tau)
    Q = _householder_full(A, tau)[..., :, :n]
    return maybe_out(Q, out)


def _reflectors(A, tau):
    """The k Householder vectors (m,) and their tau, as ember tensors."""
    m = A.shape[-2]
    below = wrap(np.tri(m, A.shape[-1], -1, dtype=bool))
    unit = _eye_like(A, m, A.shape[-1])
    V = A * below + unit  # column i: zeros above row i, 1 at row i, A's entries below
    return [(V[..., :, i], tau[..., i]) for i in range(tau.shape[-1])]


def _householder_full(A, tau):
    """Q = H_1 ... H_k as an m x m matrix, applied as Q = ((I H_1) H_2) ..."""
    m = A.shape[-2]
    Q = _eye_like(A, m).expand(A.shape[:-2] + (m, m))
    for v, t in _reflectors(A, tau):
        Qv = Q @ v.unsqueeze(-1)  # (..., m, 1)
        Q = Q - (Qv * t[..., None, None]) @ v.conj().unsqueeze(-2)
    return Q


def orgqr(input, tau, *, out=None):
    """Same as :func:`householder_product`."""
    return householder_product(input, tau, out=out)


def ormqr(input, input2, input3, left=True, transpose=False, *, out=None):
    """Q C (``left``) or C Q, with Q^H in place of Q when ``transpose``; Q = H_1 ... H_k of
    ``geqrf``'s (input, tau=input2), C = input3."""
    op = "ormqr"
    _check_float(op, input, input2, input3)
    _check_matrix(op, input, "input", square=False)
    _check_matrix(op, input3, "other", square=False)
    m = input.shape[-2]
    dim = input3.shape[-2] if left else input3.shape[-1]
    if dim != m:
        raise RuntimeError(
            f"{op}: other.shape[{-2 if left else -1}] must be equal to input.shape[-2], but "
            f"got {dim} and {m} (input {list(input.shape)}, other {list(input3.shape)})"
        )
    if input2.shape[-1] > min(m, input.shape[-1]) or input2.shape[:-1] != input.shape[:-2]:
        raise RuntimeError(
            f"{op}: tau of shape {list(input2.shape)} does not fit input of shape "
            f"{list(input.shape)}"
        )
    Q = _householder_full(input, input2)
    if transpose:
        Q = Q.mH
    return maybe_out(Q @ input3 if left else input3 @ Q, out)


def _geqrf_arrays(a):
    if a.size == 0:
        m, n = a.shape[-2:]
        return a.copy(), np.zeros(a.shape[:-2] + (min(m, n),), a.dtype)
    h, tau = np.linalg.qr(a, mode="raw")
    return np.ascontiguousarray(h.swapaxes(-1, -2)).astype(a.dtype), tau.astype(a.dtype)


def geqrf(input, *, out=None):
    """(a, tau): LAPACK's compact QR, R on and above the diagonal of a, the Householder
    vectors below it."""
    op = "geqrf"
    _check_float(op, input)
    _check_matrix(op, input, "input", square=False)
    results = _NotDifferentiable.apply(op, _geqrf_arrays, input)
    return _GeqrfResult(*results) if out is None else _out_tuple(results, out, _GeqrfResult)
