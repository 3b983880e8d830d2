"""Differentiable decompositions of ember.linalg: eigen-decomposition of general (eig) and
Hermitian (eigh) matrices, QR, the SVD and the pseudo-inverse built on it.

LAPACK (through NumPy) computes them; the backward formulas are PyTorch's conventions
(defined for distinct eigenvalues and singular values), written with ember ops except eig's.
"""

import numpy as np

from ember._ops._first_order import first_order_only
from ember._ops._promotion import maybe_out
from ember._ops._return_types import return_type
from ember._ops.linalg_extra import (
    _check_float,
    _check_matrix,
    _eye_like,
    _out_tuple,
    solve_triangular,
)
from ember._ops.shape import cat
from ember._tensor import wrap
from ember.autograd.function import ArrayFunction

__all__ = ["eig", "eigh", "eigvals", "pinv", "qr", "svd"]

_Eig = return_type("linalg_eig", ["eigenvalues", "eigenvectors"])


# -- eigen-decomposition of general matrices -------------------------------------------------


def _complex_of(dtype):
    return np.complex64 if dtype in (np.float32, np.complex64) else np.complex128


class _EigFn(ArrayFunction):
    @staticmethod
    def forward(ctx, a, with_vectors):
        w, v = np.linalg.eig(a)
        c = _complex_of(a.dtype)
        w, v = w.astype(c), v.astype(c)
        ctx.real_input = a.dtype.kind == "f"
        ctx.save_for_backward(a)
        ctx.eig = (w, v)
        return (w, v) if with_vectors else w

    @staticmethod
    def backward(ctx, gw, gv=None):
        # A = V diag(w) V^-1: gA = V^-H (diag(gw) + (V^H gV - V^H V Re(diag(V^H gV))) / E*)
        # V^H, E_ij = w_j - w_i off the diagonal (V's columns have unit norm).
        (a,) = ctx.saved_tensors
        w, v = ctx.eig
        vh = v.conj().swapaxes(-1, -2)
        inner = np.zeros_like(v)
        if gw is not None:
            inner = inner + np.einsum("...i,ij->...ij", gw._data, np.eye(w.shape[-1]))
        if gv is not None:
            vhgv = vh @ gv._data
            diag_re = np.real(np.diagonal(vhgv, axis1=-2, axis2=-1))
            term = vhgv - (vh @ v) * diag_re[..., None, :]
            e = w[..., None, :] - w[..., :, None]
            n = w.shape[-1]
            e[..., np.arange(n), np.arange(n)] = 1
            off = term / e.conj()
            off[..., np.arange(n), np.arange(n)] = 0
            inner = inner + off
        ga = np.linalg.solve(vh, inner @ vh)
        if ctx.real_input:
            ga = np.real(ga)
        ga = ga.astype(a._data.dtype, copy=False)
        return first_order_only(ga, "linalg_eig_backward", a, gw, gv), None


def eig(A, *, out=None):
    """(eigenvalues, eigenvectors) of a general square matrix, always complex."""
    op = "linalg.eig"
    _check_float(op, A)
    _check_matrix(op, A)
    results = _EigFn.apply(A, True)
    return _Eig(*results) if out is None else _out_tuple(results, out, _Eig)


def eigvals(A, *, out=None):
    """The (complex) eigenvalues of a general square matrix."""
    op = "linalg.eigvals"
    _check_float(op, A)
    _check_matrix(op, A)
    return maybe_out(_EigFn.apply(A, False), out)


class _Eigh(ArrayFunction):
    @staticmethod
    def forward(ctx, a, uplo):
        w, v = np.linalg.eigh(a, UPLO=uplo)
        ctx.save_for_backward(w, v)
        return w, v

    @staticmethod
    def backward(ctx, gw, gv):
        # A = V diag(w) V^H: gA = V (diag(gw) + (V^H gV) / E) V^H with E_ij = w_j - w_i off
        # the diagonal (defined for distinct eigenvalues), made Hermitian as in PyTorch.
        w, v = ctx.saved_tensors
        n = w.shape[-1]
        eye = _eye_like(w.unsqueeze(-1), n)
        inner = gw.diag_embed()
        if n:
            gaps = w.unsqueeze(-2) - w.unsqueeze(-1) + eye
            inner = inner + (v.mH @ gv) / gaps * (1 - eye)
        ga = v @ inner @ v.mH
        return 0.5 * (ga + ga.mH), None


def eigh(A, UPLO="L"):
    """(eigenvalues, eigenvectors) of Hermitian matrices (read from the ``UPLO`` triangle),
    differentiable."""
    op = "linalg.eigh"
    _check_float(op, A)
    _check_matrix(op, A)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"{op}: Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return _EighResult(*_Eigh.apply(A, UPLO))


_EighResult = return_type("linalg_eigh", ["eigenvalues", "eigenvectors"])


class _QR(ArrayFunction):
    @staticmethod
    def forward(ctx, a, mode):
        q, r = np.linalg.qr(a, mode="complete" if mode == "complete" else "reduced")
        ctx.mode = mode
        ctx.save_for_backward(q, r)
        return q.astype(a.dtype, copy=False), r.astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx, gq, gr):
        q, r = ctx.saved_tensors
        m, n = q.shape[-2], r.shape[-1]
        if ctx.mode == "r":
            raise RuntimeError(
                "The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                "Please use linalg.qr(A, mode='reduced') if you are going to differentiate "
                "through linalg.qr."
            )
        if ctx.mode == "complete" and m > n:
            raise RuntimeError(
                "The QR decomposition is not differentiable when mode='complete' and nrows > ncols."
            )
        if m >= n:
            return _qr_backward_tall(q, r, gq, gr), None
        # wide: A = Q [R1 R2]; R2 = Q^H A2 moves part of R2's cotangent onto Q's
        r1, r2, gr1, gr2 = r[..., :m], r[..., m:], gr[..., :m], gr[..., m:]
        ga1 = _qr_backward_tall(q, r1, gq + (q @ r2) @ gr2.mH, gr1)
        return cat([ga1, q @ gr2], -1), None


def _qr_backward_tall(q, r, gq, gr):
    """gA for A = Q R with Q m x n (orthonormal columns) and R n x n upper, m >= n."""
    m_ = r @ gr.mH - gq.mH @ q
    low = m_.tril(-1)
    diag = m_.diagonal(0, -2, -1)
    if diag._data.dtype.kind == "c":
        diag = diag.real
    sym = low + low.mH + diag.diag_embed()
    return solve_triangular(r.mH, gq + q @ sym, upper=False, left=False)


def qr(A, mode="reduced"):
    """(Q, R) with A = Q R; ``mode`` 'reduced', 'complete' or 'r' (Q empty), differentiable."""
    op = "linalg.qr"
    _check_float(op, A)
    _check_matrix(op, A, square=False)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(
            f"{op}: qr received unrecognized mode '{mode}' but expected one of 'reduced' "
            "(default), 'r', or 'complete'"
        )
    q, r = _QR.apply(A, mode)
    if mode == "r":
        q = wrap(np.empty((0,), A._data.dtype))
    return _QRResult(q, r)


_QRResult = return_type("linalg_qr", ["Q", "R"])


class _SVD(ArrayFunction):
    @staticmethod
    def forward(ctx, a, full_matrices):
        u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
        u, vh = u.astype(a.dtype, copy=False), vh.astype(a.dtype, copy=False)
        s = s.astype(np.finfo(a.dtype).dtype, copy=False)
        ctx.set_materialize_grads(False)  # an unused U or Vh must add nothing (it divides by S)
        ctx.save_for_backward(u, s, vh)
        return u, s, vh

    @staticmethod
    def backward(ctx, gu, gs, gvh):
        u, s, vh = ctx.saved_tensors
        k = s.shape[-1]
        # With full_matrices the columns beyond min(m, n) are arbitrary: only the first k count.
        u, vh = u[..., :k], vh[..., :k, :]
        gu = None if gu is None else gu[..., :k]
        gvh = None if gvh is None else gvh[..., :k, :]
        return _svd_backward(u, s, vh, gu, gs, gvh), None


def _svd_backward(u, s, vh, gu, gs, gvh):
    """gA for A = U diag(S) Vh (U m x k, Vh k x n), for distinct nonzero singular values
    (Townsend, "Differentiating the Singular Value Decomposition")."""
    k = s.shape[-1]
    eye = _eye_like(s.unsqueeze(-1), k)
    inner = gs.diag_embed() if gs is not None else wrap(np.zeros(s.shape + (k,), s._data.dtype))
    if gu is None and gvh is None:
        return u @ inner.to(u.dtype) @ vh
    f = (1 - eye) / (s.unsqueeze(-2) ** 2 - s.unsqueeze(-1) ** 2 + eye)  # 1/(s_j^2 - s_i^2)
    complex_ = u._data.dtype.kind == "c"
    phase = 0
    uhgu = vhgv = None
    if gu is not None:
        uhgu = u.mH @ gu
        inner = inner + f * (uhgu - uhgu.mH) * s.unsqueeze(-2)
        if complex_:
            phase = phase + uhgu.diagonal(0, -2, -1).imag
    if gvh is not None:
        vhgv = vh @ gvh.mH
        inner = inner + s.unsqueeze(-1) * (f * (vhgv - vhgv.mH))
        if complex_:
            phase = phase - vhgv.diagonal(0, -2, -1).imag
    if complex_ and not isinstance(phase, int):  # the phase each singular pair leaves free
        inner = inner + (1j * phase / (2 * s)).diag_embed()
    ga = u @ inner.to(u.dtype) @ vh
    m, n = u.shape[-2], vh.shape[-1]
    if gu is not None and m > k:
        ga = ga + ((gu - u @ uhgu) / s.unsqueeze(-2)) @ vh
    if gvh is not None and n > k:
        ga = ga + (u / s.unsqueeze(-2)) @ (gvh - (gvh @ vh.mH) @ vh)
    return ga


def svd(A, full_matrices=True):
    """(U, S, Vh) with A = U diag(S) Vh, differentiable (for distinct singular values)."""
    op = "linalg.svd"
    _check_float(op, A)
    _check_matrix(op, A, square=False)
    return _SvdResult(*_SVD.apply(A, full_matrices))


_SvdResult = return_type("linalg_svd", ["U", "S", "Vh"])


def _pinv_array(a, atol, rtol, hermitian):
    """V diag(1/s) U^H over the singular values above max(atol, rtol * s_max)."""
    if hermitian:
        w, v = np.linalg.eigh(a)
        s, left, right = np.abs(w), v, v.conj().swapaxes(-1, -2)
        inv_scale = 1 / np.where(w == 0, 1, w)
    else:
        left, s, right = np.linalg.svd(a, full_matrices=False)
        inv_scale = 1 / np.where(s == 0, 1, s)
    s_max = s.max(-1, keepdims=True, initial=0)
    keep = s > np.maximum(atol, rtol * s_max)
    inv_scale = np.where(keep, inv_scale, 0)
    x = right.conj().swapaxes(-1, -2) @ (inv_scale[..., None] * left.conj().swapaxes(-1, -2))
    return x.astype(a.dtype, copy=False)


class _Pinv(ArrayFunction):
    @staticmethod
    def forward(ctx, a, atol, rtol, hermitian):
        x = _pinv_array(a, atol, rtol, hermitian)
        ctx.save_for_backward(a, x)
        return x

    @staticmethod
    def backward(ctx, g):
        # dX = -X dA X + X X^H dA^H (I - A X) + (I - X A) dA^H X^H X (Golub and Pereyra),
        # exact where the rank does not change.
        a, x = ctx.saved_tensors
        m, n = a.shape[-2:]
        left = _eye_like(a, m) - a @ x
        right = _eye_like(a, n) - x @ a
        ga = -(x.mH @ g @ x.mH) + left @ g.mH @ x @ x.mH + x.mH @ x @ g.mH @ right
        return ga, None, None, None


def pinv(A, rcond=None, hermitian=False, *, atol=None, rtol=None, out=None):
    """The Moore-Penrose pseudo-inverse without the singular values at or below
    max(atol, rtol * s_max) (``rcond``, the older name, is rtol); differentiable where the
    rank is constant."""
    op = "linalg.pinv"
    _check_float(op, A)
    _check_matrix(op, A, square=False)
    if rcond is not None:
        if rtol is not None:
            raise RuntimeError(f"{op}: rcond and rtol cannot both be given (rcond is rtol)")
        rtol = rcond
    if rtol is None:
        eps = float(np.finfo(A._data.dtype).eps)
        rtol = eps * max(A.shape[-2:]) if atol is None or atol <= 0 else 0.0
    atol = 0.0 if atol is None else atol
    if A._data.size == 0:
        shape = A.shape[:-2] + (A.shape[-1], A.shape[-2])
        return maybe_out(wrap(np.zeros(shape, A._data.dtype)), out)
    return maybe_out(_Pinv.apply(A, atol, rtol, hermitian), out)
