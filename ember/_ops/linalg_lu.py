"""LU (partial pivoting) and LDL (Bunch-Kaufman) factorizations of ember.linalg: the compact
LAPACK forms, unpacking, and solves from them. LU's backward is written with ember ops."""

import warnings

import numpy as np
import scipy.linalg as sla
from scipy.linalg import lapack

from ember._ops._promotion import maybe_out
from ember._ops._return_types import return_type
from ember._ops.linalg import LinAlgError
from ember._ops.linalg_extra import (
    _check_float,
    _check_matrix,
    _check_same_dtype,
    _eye_like,
    _NotDifferentiable,
    _out_tuple,
    solve_triangular,
)
from ember._ops.shape import cat
from ember._tensor import wrap
from ember.autograd.function import ArrayFunction

_LuUnpackResult = return_type("lu_unpack", ["P", "L", "U"])

__all__ = [
    "ldl_factor", "ldl_factor_ex", "ldl_solve", "lu", "lu_factor", "lu_factor_ex", "lu_solve",
    "lu_unpack",
]  # fmt: skip

_LU = return_type("linalg_lu", ["P", "L", "U"])
_LUFactor = return_type("linalg_lu_factor", ["LU", "pivots"])
_LUFactorEx = return_type("linalg_lu_factor_ex", ["LU", "pivots", "info"])
_LDLFactor = return_type("linalg_ldl_factor", ["LD", "pivots"])
_LDLFactorEx = return_type("linalg_ldl_factor_ex", ["LD", "pivots", "info"])


# -- LU --------------------------------------------------------------------------------------


def _perm_from_pivots(piv, m):
    """The row order ``perm`` with (P^T A)[i] = A[perm[i]], from LAPACK's 1-based swaps."""
    perm = np.broadcast_to(np.arange(m), piv.shape[:-1] + (m,)).copy()
    idx = np.indices(piv.shape[:-1])
    for i in range(piv.shape[-1]):
        j = piv[..., i].astype(np.int64) - 1
        pi, pj = perm[(*idx, np.full_like(j, i))], perm[(*idx, j)]
        perm[(*idx, np.full_like(j, i))], perm[(*idx, j)] = pj, pi
    return perm


def _perm_matrix(perm, dtype):
    """P with P[perm[j], j] = 1, so that A = P (P^T A)."""
    m = perm.shape[-1]
    P = np.zeros(perm.shape + (m,), dtype)
    np.put_along_axis(P, perm[..., :, None], 1, axis=-1)
    return P.swapaxes(-1, -2)


def _getrf(a):
    """(LU, 1-based int32 pivots, info) of each matrix of ``a``."""
    m, n = a.shape[-2:]
    k = min(m, n)
    if a.size == 0:
        return a.copy(), np.ones(a.shape[:-2] + (k,), np.int32), np.zeros(a.shape[:-2], np.int32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lu, piv = sla.lu_factor(a, check_finite=False)
    d = np.diagonal(lu, axis1=-2, axis2=-1) == 0
    info = np.where(d.any(-1), d.argmax(-1) + 1, 0).astype(np.int32)
    return lu.astype(a.dtype, copy=False), (piv + 1).astype(np.int32), info


def _lu_backward(P, L, U, gL, gU):
    """gA for A = P L U (L m x k unit lower, U k x n upper), in ember ops."""
    m, n = L.shape[-2], U.shape[-1]
    k = min(m, n)
    if m == n:
        phi = (L.mH @ gL).tril(-1) + (gU @ U.mH).triu()
        X = solve_triangular(L.mH, phi, upper=True, unitriangular=True)
        return P @ solve_triangular(U.mH, X, upper=False, left=False)
    if m < n:  # wide: A = P L [U1 U2]
        U1, U2, gU1, gU2 = U[..., :k], U[..., k:], gU[..., :k], gU[..., k:]
        phi = (L.mH @ gL - gU2 @ U2.mH).tril(-1) + (gU1 @ U1.mH).triu()
        X = solve_triangular(U1.mH, phi, upper=False, left=False)
        g = solve_triangular(L.mH, cat([X, gU2], -1), upper=True, unitriangular=True)
        return P @ g
    # tall: P^T A = [L1; L2] U
    L1, L2, gL1, gL2 = L[..., :k, :], L[..., k:, :], gL[..., :k, :], gL[..., k:, :]
    gA2 = solve_triangular(U.mH, gL2, upper=False, left=False)
    phi = (L1.mH @ gL1).tril(-1) + (gU @ U.mH - L2.mH @ gL2).triu()
    X = solve_triangular(L1.mH, phi, upper=True, unitriangular=True)
    gA1 = solve_triangular(U.mH, X, upper=False, left=False)
    return P @ cat([gA1, gA2], -2)


def _unpack_arrays(lu, piv):
    m, n = lu.shape[-2:]
    k = min(m, n)
    L = np.tril(lu[..., :, :k], -1) + np.eye(m, k, dtype=lu.dtype)
    U = np.triu(lu[..., :k, :])
    P = _perm_matrix(_perm_from_pivots(piv, m), lu.dtype)
    return P, L, U


class _LUFactorFn(ArrayFunction):
    @staticmethod
    def forward(ctx, a):
        lu, piv, info = _getrf(a)
        ctx.mark_non_differentiable(piv, info)
        ctx.save_for_backward(lu, piv)
        return lu, piv, info

    @staticmethod
    def backward(ctx, g, _gpiv, _ginfo):
        lu, piv = ctx.saved_tensors
        P, L, U = lu_unpack(lu, piv)
        k = min(lu.shape[-2:])
        return _lu_backward(P, L, U, g[..., :, :k].tril(-1), g[..., :k, :].triu())


class _LUDecomp(ArrayFunction):
    @staticmethod
    def forward(ctx, a):
        lu, piv, _ = _getrf(a)
        P, L, U = _unpack_arrays(lu, piv)
        ctx.mark_non_differentiable(P)
        ctx.save_for_backward(P, L, U)
        return P, L, U

    @staticmethod
    def backward(ctx, _gP, gL, gU):
        P, L, U = ctx.saved_tensors
        return _lu_backward(P, L, U, gL, gU)


def _check_pivot(op, pivot):
    if not pivot:
        raise RuntimeError(f"{op}: LU without pivoting is not implemented on the CPU")


def _check_lu_info(op, info):
    bad = info._data[info._data != 0]
    if bad.size:
        k = int(bad[0])
        raise LinAlgError(
            f"torch.{op}: U[{k},{k}] is zero and using it on lu_solve would result in a "
            "division by zero. If you still want to perform the factorization, consider "
            "calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)"
        )


def lu_factor_ex(A, *, pivot=True, check_errors=False, out=None):
    """(LU, pivots, info): LAPACK's compact LU factorization with partial pivoting."""
    op = "linalg.lu_factor_ex"
    _check_float(op, A)
    _check_matrix(op, A, square=False)
    _check_pivot(op, pivot)
    lu, piv, info = _LUFactorFn.apply(A)
    if check_errors:
        _check_lu_info(op, info)
    results = (lu, piv, info)
    return _LUFactorEx(*results) if out is None else _out_tuple(results, out, _LUFactorEx)


def lu_factor(A, *, pivot=True, out=None):
    """(LU, pivots); raises for a singular matrix (a zero on U's diagonal), as PyTorch does."""
    op = "linalg.lu_factor"
    _check_float(op, A)
    _check_matrix(op, A, square=False)
    _check_pivot(op, pivot)
    lu, piv, info = _LUFactorFn.apply(A)
    _check_lu_info(op, info)
    results = (lu, piv)
    return _LUFactor(*results) if out is None else _out_tuple(results, out, _LUFactor)


def lu(A, *, pivot=True, out=None):
    """(P, L, U) with A = P L U."""
    op = "linalg.lu"
    _check_float(op, A)
    _check_matrix(op, A, square=False)
    _check_pivot(op, pivot)
    results = _LUDecomp.apply(A)
    return _LU(*results) if out is None else _out_tuple(results, out, _LU)


def _check_pivots(op, LU, pivots):
    if pivots._data.dtype != np.int32:
        raise RuntimeError(
            f"{op}: pivots should be a Tensor of scalar type int32, got {pivots.dtype}"
        )
    k = min(LU.shape[-2:])
    if pivots.shape[-1:] != (k,) or pivots.shape[:-1] != LU.shape[:-2]:
        raise RuntimeError(
            f"{op}: expected pivots of shape {list(LU.shape[:-2]) + [k]} for LU of shape "
            f"{list(LU.shape)}, but got {list(pivots.shape)}"
        )
    p = pivots._data
    if p.size and (p.min() < 1 or p.max() > LU.shape[-2]):
        raise RuntimeError(
            f"{op}: pivots must be between 1 and {LU.shape[-2]}, got {p.min()} to {p.max()}"
        )


def lu_unpack(LU_data, LU_pivots, unpack_data=True, unpack_pivots=True, *, out=None):
    """(P, L, U) from the compact ``lu_factor`` output; L and U keep LU's gradient."""
    op = "lu_unpack"
    _check_matrix(op, LU_data, "LU_data", square=False)
    _check_pivots(op, LU_data, LU_pivots)
    m, n = LU_data.shape[-2:]
    k = min(m, n)
    empty = wrap(np.empty((0,), LU_data._data.dtype))
    if unpack_data:
        L = LU_data[..., :, :k].tril(-1) + _eye_like(LU_data, m, k)
        U = LU_data[..., :k, :].triu()
    else:
        L = U = empty
    if unpack_pivots:
        P = wrap(_perm_matrix(_perm_from_pivots(LU_pivots._data, m), LU_data._data.dtype))
    else:
        P = empty
    results = (P, L, U)
    return _LuUnpackResult(*results) if out is None else _out_tuple(results, out, _LuUnpackResult)


def lu_solve(LU, pivots, B, *, left=True, adjoint=False, out=None):
    """X with A X = B (or X A = B; A^H in place of A when ``adjoint``) from A's LU factors."""
    op = "linalg.lu_solve"
    _check_float(op, LU, B)
    _check_matrix(op, LU, "LU")
    _check_matrix(op, B, "B", square=False)
    _check_same_dtype(op, LU, B)
    _check_pivots(op, LU, pivots)
    n = LU.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        raise RuntimeError(
            f"{op}: Incompatible shapes of A and B for the equation "
            f"{'AX = B' if left else 'XA = B'} ({'x'.join(map(str, LU.shape))} and "
            f"{'x'.join(map(str, B.shape))})"
        )
    P, L, U = lu_unpack(LU, pivots)
    if left and not adjoint:  # U^-1 L^-1 P^T B
        X = solve_triangular(L, P.mT @ B, upper=False, unitriangular=True)
        X = solve_triangular(U, X, upper=True)
    elif left:  # P L^-H U^-H B
        X = solve_triangular(U.mH, B, upper=False)
        X = P @ solve_triangular(L.mH, X, upper=True, unitriangular=True)
    elif not adjoint:  # B U^-1 L^-1 P^T
        X = solve_triangular(U, B, upper=True, left=False)
        X = solve_triangular(L, X, upper=False, left=False, unitriangular=True) @ P.mT
    else:  # B P L^-H U^-H
        X = solve_triangular(L.mH, B @ P, upper=True, left=False, unitriangular=True)
        X = solve_triangular(U.mH, X, upper=False, left=False)
    return maybe_out(X, out)


# -- LDL -------------------------------------------------------------------------------------


def _lapack(name, dtype):
    return getattr(lapack, {"f": "s", "d": "d", "F": "c", "D": "z"}[dtype.char] + name)


def _ldl_arrays(a, hermitian):
    """LAPACK's Bunch-Kaufman LDL^T (or LDL^H) of each matrix: compact LD, pivots, info."""
    if a.size == 0:
        return a.copy(), np.zeros(a.shape[:-1], np.int32), np.zeros(a.shape[:-2], np.int32)
    complex_herm = hermitian and a.dtype.kind == "c"
    fn = _lapack("hetrf" if complex_herm else "sytrf", a.dtype)
    flat = a.reshape((-1,) + a.shape[-2:])
    ld = np.empty_like(flat)
    piv = np.empty(flat.shape[:2], np.int32)
    info = np.zeros(flat.shape[0], np.int32)
    for i, m in enumerate(flat):  # LAPACK's sytrf factors one matrix per call
        out, ipiv, inf = fn(np.tril(m), lower=1)[:3]
        ld[i], piv[i], info[i] = np.tril(out), ipiv, inf
    shape = a.shape[:-2]
    return ld.reshape(a.shape), piv.reshape(shape + (a.shape[-1],)), info.reshape(shape)


def ldl_factor_ex(A, *, hermitian=False, check_errors=False, out=None):
    """(LD, pivots, info): the compact Bunch-Kaufman factorization A = L D L^T (L D L^H)."""
    op = "linalg.ldl_factor_ex"
    _check_float(op, A)
    _check_matrix(op, A)
    ld, piv, info = _NotDifferentiable.apply(op, lambda a: _ldl_arrays(a, hermitian), A)
    if check_errors and info._data.any():
        raise LinAlgError(
            f"{op}: The factorization could not be completed because the input is singular "
            f"(D[{int(info._data[info._data != 0].flat[0])}] is zero)."
        )
    results = (ld, piv, info)
    return _LDLFactorEx(*results) if out is None else _out_tuple(results, out, _LDLFactorEx)


def ldl_factor(A, *, hermitian=False, out=None):
    """(LD, pivots) of :func:`ldl_factor_ex`."""
    ld, piv, _ = ldl_factor_ex(A, hermitian=hermitian)
    results = (ld, piv)
    return _LDLFactor(*results) if out is None else _out_tuple(results, out, _LDLFactor)


def _ldl_solve_arrays(ld, piv, b, hermitian):
    complex_herm = hermitian and ld.dtype.kind == "c"
    fn = _lapack("hetrs" if complex_herm else "sytrs", ld.dtype)
    batch = np.broadcast_shapes(ld.shape[:-2], b.shape[:-2])
    ld = np.broadcast_to(ld, batch + ld.shape[-2:]).reshape((-1,) + ld.shape[-2:])
    piv = np.broadcast_to(piv, batch + piv.shape[-1:]).reshape((-1, piv.shape[-1]))
    bf = np.broadcast_to(b, batch + b.shape[-2:]).reshape((-1,) + b.shape[-2:])
    x = np.empty_like(bf)
    for i in range(bf.shape[0]):  # LAPACK's sytrs solves with one factorization per call
        x[i] = fn(ld[i], piv[i], bf[i], lower=1)[0]
    return x.reshape(batch + b.shape[-2:])


def ldl_solve(LD, pivots, B, *, hermitian=False, out=None):
    """X with A X = B from :func:`ldl_factor`'s output."""
    op = "linalg.ldl_solve"
    _check_float(op, LD, B)
    _check_matrix(op, LD, "LD")
    _check_matrix(op, B, "B", square=False)
    _check_same_dtype(op, LD, B)
    if B.shape[-2] != LD.shape[-1]:
        raise RuntimeError(
            f"{op}: Incompatible shapes of A and B for the equation AX = B "
            f"({'x'.join(map(str, LD.shape))} and {'x'.join(map(str, B.shape))})"
        )
    if pivots._data.dtype != np.int32 or pivots.shape != LD.shape[:-1]:
        raise RuntimeError(
            f"{op}: expected int32 pivots of shape {list(LD.shape[:-1])}, but got "
            f"{pivots.dtype} of shape {list(pivots.shape)}"
        )
    X = _NotDifferentiable.apply(
        op, lambda ld, p, b: _ldl_solve_arrays(ld, p, b, hermitian), LD, pivots, B
    )
    return maybe_out(X, out)
