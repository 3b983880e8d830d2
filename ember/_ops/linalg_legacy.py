"""The torch-level linear-algebra names that predate torch.linalg (``torch.svd``, ``torch.qr``,
``torch.lu``, ``torch.triangular_solve``, ...): thin shims over ember.linalg's ops with the
older signatures and result layouts."""

import warnings

import numpy as np

from ember._ops import householder as _householder
from ember._ops import linalg as _linalg
from ember._ops import linalg_extra as _extra
from ember._ops import linalg_lu as _lu
from ember._ops._promotion import maybe_out
from ember._ops._return_types import return_type
from ember._tensor import wrap

__all__ = [
    "cholesky", "cholesky_inverse", "cholesky_solve", "geqrf", "lu", "lu_solve", "lu_unpack",
    "matrix_exp", "orgqr", "ormqr", "pinverse", "qr", "svd", "triangular_solve",
]  # fmt: skip

cholesky_inverse = _extra.cholesky_inverse
cholesky_solve = _extra.cholesky_solve
geqrf = _householder.geqrf
lu_unpack = _lu.lu_unpack
matrix_exp = _extra.matrix_exp
orgqr = _householder.orgqr
ormqr = _householder.ormqr

_Svd = return_type("svd", ["U", "S", "V"])
_Qr = return_type("qr", ["Q", "R"])
_TriangularSolve = return_type("triangular_solve", ["solution", "cloned_coefficient"])


def cholesky(input, upper=False, *, out=None):
    """The Cholesky factor (deprecated in PyTorch for ``torch.linalg.cholesky``)."""
    warnings.warn(
        "torch.cholesky is deprecated in favor of torch.linalg.cholesky and will be removed in "
        "a future PyTorch release.\nL = torch.cholesky(A)\nshould be replaced with\n"
        "L = torch.linalg.cholesky(A)\nand\nU = torch.cholesky(A, upper=True)\nshould be "
        "replaced with\nU = torch.linalg.cholesky(A).mH",
        UserWarning,
        stacklevel=2,
    )
    L, info = _extra.cholesky_ex(input, upper=upper)
    if info._data.any():
        raise _linalg.LinAlgError(
            f"cholesky: The factorization could not be completed because the input is not "
            f"positive-definite (the leading minor of order {int(info._data[info._data != 0][0])} "
            "is not positive-definite)."
        )
    return maybe_out(L, out)


def pinverse(input, rcond=1e-15):
    """The pseudo-inverse; same as ``ember.linalg.pinv``."""
    return _linalg.pinv(input, rcond=rcond)


def qr(input, some=True, *, out=None):
    """(Q, R), reduced when ``some`` else complete."""
    warnings.warn(
        "torch.qr is deprecated in favor of torch.linalg.qr and will be removed in a future "
        "PyTorch release.\nThe boolean parameter 'some' has been replaced with a string "
        "parameter 'mode'.\nQ, R = torch.qr(A, some)\nshould be replaced with\n"
        "Q, R = torch.linalg.qr(A, 'reduced' if some else 'complete')",
        UserWarning,
        stacklevel=2,
    )
    q, r = _linalg.qr(input, mode="reduced" if some else "complete")
    return _Qr(q, r) if out is None else _Qr(maybe_out(q, out[0]), maybe_out(r, out[1]))


def svd(input, some=True, compute_uv=True, *, out=None):
    """(U, S, V) with input = U diag(S) V^H; U and V zero-filled (m x m, n x n) when not
    ``compute_uv``."""
    if not compute_uv:
        m, n = input.shape[-2:]
        batch = input.shape[:-2]
        s = _linalg.svdvals(input)
        zeros = np.zeros
        u = wrap(zeros(batch + (m, m), input._data.dtype))
        v = wrap(zeros(batch + (n, n), input._data.dtype))
        results = (u, s, v)
    else:
        u, s, vh = _linalg.svd(input, full_matrices=not some)
        results = (u, s, vh.mH)
    if out is None:
        return _Svd(*results)
    return _Svd(*(maybe_out(r, o) for r, o in zip(results, out)))


def triangular_solve(b, A, upper=True, transpose=False, unitriangular=False, *, out=None):
    """(X, A clone) with op(A) X = b, op(A) = A^T when ``transpose``."""
    warnings.warn(
        "torch.triangular_solve is deprecated in favor of torch.linalg.solve_triangular and "
        "will be removed in a future PyTorch release.\ntorch.linalg.solve_triangular has its "
        "arguments reversed and does not return a copy of one of the inputs.\n"
        "X = torch.triangular_solve(B, A).solution\nshould be replaced with\n"
        "X = torch.linalg.solve_triangular(A, B).",
        UserWarning,
        stacklevel=2,
    )
    if b.ndim < 2 or A.ndim < 2:
        raise RuntimeError(
            "triangular_solve: expected b and A to have at least 2 dimensions, but got "
            f"{b.ndim} and {A.ndim}"
        )
    a = A.mT if transpose else A
    x = _extra.solve_triangular(a, b, upper=upper != transpose, unitriangular=unitriangular)
    results = (x, A.clone())
    if out is None:
        return _TriangularSolve(*results)
    return _TriangularSolve(*(maybe_out(r, o) for r, o in zip(results, out)))


def lu(A, pivot=True, get_infos=False, out=None):
    """(LU, pivots) or (LU, pivots, infos) of the compact LU factorization."""
    warnings.warn(
        "torch.lu is deprecated in favor of torch.linalg.lu_factor / torch.linalg.lu_factor_ex "
        "and will be removed in a future PyTorch release.",
        UserWarning,
        stacklevel=2,
    )
    lu_, piv, info = _lu.lu_factor_ex(A, pivot=pivot)
    results = (lu_, piv, info) if get_infos else (lu_, piv)
    if out is None:
        return results
    return tuple(maybe_out(r, o) for r, o in zip(results, out))


def lu_solve(b, LU_data, LU_pivots, *, out=None):
    """X with A X = b from A's ``lu`` factors (``ember.linalg.lu_solve`` with b first)."""
    warnings.warn(
        "torch.lu_solve is deprecated in favor of torch.linalg.lu_solve and will be removed in "
        "a future PyTorch release.\nNote that torch.linalg.lu_solve has its arguments reversed.",
        UserWarning,
        stacklevel=2,
    )
    return _lu.lu_solve(LU_data, LU_pivots, b, out=out)
