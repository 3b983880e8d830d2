"""ember.linalg's solvers beyond the basics: triangular and Cholesky solves, inverses and
solves that report singular matrices, least squares, the matrix exponential and small
composites (cond, multi_dot, tensorsolve, vander, ...). LU and LDL live in ``linalg_lu``,
the eigen, QR and singular value decompositions in ``linalg_decompositions``, Householder
products in ``householder``.

LAPACK (through SciPy) computes the factorizations; where PyTorch differentiates a result,
the backward is written with ember ops, so it can be differentiated again.
"""

import warnings

import numpy as np
import scipy.linalg as sla

from ember._ops._numpy_kwargs import numpy_kwargs
from ember._ops._promotion import maybe_out
from ember._ops._return_types import return_type
from ember._ops.linalg import LinAlgError, inv, matmul, matrix_norm, solve, svdvals
from ember._ops.shape import cat
from ember._tensor import Tensor, wrap
from ember.autograd.function import ArrayFunction

__all__ = [
    "cholesky_ex", "cholesky_inverse", "cholesky_solve", "cond", "diagonal", "inv_ex", "lstsq",
    "matmul", "matrix_exp", "multi_dot", "solve_ex", "solve_triangular", "tensorinv",
    "tensorsolve", "vander", "vecdot",
]  # fmt: skip

_CholeskyEx = return_type("linalg_cholesky_ex", ["L", "info"])
_InvEx = return_type("linalg_inv_ex", ["inverse", "info"])
_SolveEx = return_type("linalg_solve_ex", ["result", "info"])
_Lstsq = return_type("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])

_LSTSQ_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


# -- checks ----------------------------------------------------------------------------------


def _check_float(op, *tensors):
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected a Tensor, but got {type(t).__name__}")
        if t._data.dtype.kind not in "fc":
            raise RuntimeError(
                f"{op}: Expected a floating point or complex tensor as input. Got {t.dtype}"
            )


def _check_matrix(op, A, name="A", square=True):
    if A.ndim < 2:
        raise RuntimeError(
            f"{op}: The input tensor {name} must have at least 2 dimensions, but got shape "
            f"{list(A.shape)}."
        )
    if square and A.shape[-1] != A.shape[-2]:
        raise RuntimeError(
            f"{op}: {name} must be batches of square matrices, but they are {A.shape[-2]} by "
            f"{A.shape[-1]} matrices"
        )


def _check_same_dtype(op, A, B):
    if A.dtype != B.dtype:
        raise RuntimeError(
            f"{op}: Expected A and B to have the same dtype, but found A of type {A.dtype} and "
            f"B of type {B.dtype} instead"
        )


def _batch_of(op, *shapes):
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise RuntimeError(
            f"{op}: the batch dimensions {' and '.join(str(list(s)) for s in shapes)} cannot "
            "be broadcast"
        ) from None


def _eye_like(A, n=None, m=None):
    n = A.shape[-1] if n is None else n
    return wrap(np.eye(n, m, dtype=A._data.dtype))


def _info_tensor(info):
    return wrap(np.asarray(info, dtype=np.int32))


class _NotDifferentiable(ArrayFunction):
    """Runs ``fn`` on arrays; a backward through it raises, as PyTorch does for these ops."""

    @staticmethod
    def forward(ctx, op, fn, *arrays):
        ctx.op = op
        return fn(*arrays)

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(f"the derivative for '{ctx.op}' is not implemented.")


# -- triangular solve ------------------------------------------------------------------------


def _substitute(a, b, lower, unit):
    """Forward (``lower``) or back substitution row by row, for a triangular ``a`` with a zero
    on its diagonal, where LAPACK refuses: the divisions by zero give inf and NaN."""
    n = a.shape[-1]
    x = np.zeros(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:],
                 np.result_type(a, b))  # fmt: skip
    with np.errstate(all="ignore"):
        for i in range(n) if lower else reversed(range(n)):
            done = slice(0, i) if lower else slice(i + 1, n)
            r = b[..., i, :] - (a[..., i : i + 1, done] @ x[..., done, :])[..., 0, :]
            x[..., i, :] = r if unit else r / a[..., i, i, None]
    return x


class _SolveTriangular(ArrayFunction):
    @staticmethod
    def forward(ctx, A, B, upper, left, unitriangular):
        if A.size == 0 or B.size == 0:
            X = np.zeros(np.broadcast_shapes(A.shape[:-2], B.shape[:-2]) + B.shape[-2:], B.dtype)
        else:
            a, b, lower = (A, B, not upper) if left else (A.swapaxes(-1, -2), B.swapaxes(-1, -2),
                                                          upper)  # fmt: skip
            try:
                X = sla.solve_triangular(a, b, lower=lower, unit_diagonal=unitriangular,
                                         check_finite=False)  # fmt: skip
            except np.linalg.LinAlgError:  # a zero on the diagonal: inf and NaN, as BLAS gives
                X = _substitute(a, b, lower, unitriangular)
            X = X if left else X.swapaxes(-1, -2)
        ctx.flags = (upper, left, unitriangular)
        X = X.astype(B.dtype, copy=False)
        ctx.save_for_backward(A, X)
        return X

    @staticmethod
    def backward(ctx, g):
        A, X = ctx.saved_tensors
        upper, left, unit = ctx.flags
        gB = solve_triangular(A.mH, g, upper=not upper, left=left, unitriangular=unit)
        gA = None
        if ctx.needs_input_grad[0]:
            gA = -(gB @ X.mH) if left else -(X.mH @ gB)
            gA = gA.triu(1 if unit else 0) if upper else gA.tril(-1 if unit else 0)
        return gA, gB, None, None, None


def solve_triangular(A, B, *, upper, left=True, unitriangular=False, out=None):
    """X with A X = B (``left``) or X A = B for a triangular A."""
    op = "linalg.solve_triangular"
    _check_float(op, A, B)
    _check_matrix(op, A)
    _check_matrix(op, B, "B", square=False)
    _check_same_dtype(op, A, B)
    k = B.shape[-2] if left else B.shape[-1]
    if k != A.shape[-1]:
        raise RuntimeError(
            f"{op}: Incompatible shapes of A and B for the equation "
            f"{'AX = B' if left else 'XA = B'} ({'x'.join(map(str, A.shape))} and "
            f"{'x'.join(map(str, B.shape))})"
        )
    _batch_of(op, A.shape[:-2], B.shape[:-2])
    return maybe_out(_SolveTriangular.apply(A, B, upper, left, unitriangular), out)


# -- matrix exponential ----------------------------------------------------------------------


class _MatrixExp(ArrayFunction):
    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        if a.size == 0:
            return a.copy()
        return np.asarray(sla.expm(a), dtype=a.dtype)

    @staticmethod
    def backward(ctx, g):
        # The derivative of exp at A applied to G is the upper-right block of
        # exp([[A^H, G], [0, A^H]]) (Mathias, 1996).
        (a,) = ctx.saved_tensors
        n = a.shape[-1]
        ah = a.mH.expand(g.shape)
        zeros = wrap(np.zeros(g.shape, g._data.dtype))
        block = cat([cat([ah, g], -1), cat([zeros, ah], -1)], -2)
        return matrix_exp(block)[..., :n, n:]


def matrix_exp(A):
    """exp(A) = sum_k A^k / k! of each square matrix."""
    op = "linalg.matrix_exp"
    _check_float(op, A)
    _check_matrix(op, A)
    return _MatrixExp.apply(A)


# -- Cholesky --------------------------------------------------------------------------------


class _Cholesky(ArrayFunction):
    @staticmethod
    def forward(ctx, a):
        L = np.linalg.cholesky(a)
        ctx.save_for_backward(L)
        return L

    @staticmethod
    def backward(ctx, gL):
        # A = L L^H: gA = L^-H Phi(L^H gL) L^-1, Phi the lower triangle with half its
        # diagonal, then made Hermitian.
        (L,) = ctx.saved_tensors
        phi = (L.mH @ gL).tril()
        phi = phi - 0.5 * phi.diagonal(0, -2, -1).diag_embed()
        S = solve_triangular(L.mH, phi, upper=True)
        S = solve_triangular(L, S, upper=False, left=False)
        return 0.5 * (S + S.mH)


def _cholesky_info(a):
    """Per matrix: 0, or the order of the leading minor that is not positive-definite."""
    flat = a.reshape((-1,) + a.shape[-2:])
    infos = np.zeros(flat.shape[0], np.int32)
    for i, m in enumerate(flat):  # only reached when some matrix failed
        for k in range(1, m.shape[-1] + 1):
            try:
                np.linalg.cholesky(m[:k, :k])
            except np.linalg.LinAlgError:
                infos[i] = k
                break
    return infos.reshape(a.shape[:-2])


def cholesky_ex(A, *, upper=False, check_errors=False, out=None):
    """(L, info): the Cholesky factor and, per matrix, 0 or the order of the first leading
    minor that is not positive-definite (its factor is then zero-filled)."""
    op = "linalg.cholesky_ex"
    _check_float(op, A)
    _check_matrix(op, A)
    a = A._data
    try:
        L = _Cholesky.apply(A)
        info = np.zeros(a.shape[:-2], np.int32)
    except np.linalg.LinAlgError:
        info = _cholesky_info(a)
        if check_errors:
            raise LinAlgError(
                f"{op}: The factorization could not be completed because the input is not "
                f"positive-definite (the leading minor of order {info[info != 0].flat[0]} is "
                "not positive-definite)."
            ) from None
        good = (info == 0)[..., None, None]
        L = wrap(np.where(good, np.linalg.cholesky(np.where(good, a, np.eye(a.shape[-1]))), 0)
                 .astype(a.dtype))  # fmt: skip
    if upper:
        L = L.mH
    results = (L, _info_tensor(info))
    return _CholeskyEx(*results) if out is None else _out_tuple(results, out, _CholeskyEx)


def _out_tuple(results, out, kind):
    return kind(*(maybe_out(r, o) for r, o in zip(results, out)))


class _CholeskySolve(ArrayFunction):
    """X = A^-1 B with A = L L^H (U^H U): forward from L's triangle, backward differentiating
    A in the whole of L, as PyTorch does."""

    @staticmethod
    def forward(ctx, b, factor, upper):
        tri = factor.swapaxes(-1, -2).conj() if upper else factor  # lower triangular
        y = sla.solve_triangular(tri, b, lower=True, check_finite=False)
        x = sla.solve_triangular(tri.swapaxes(-1, -2).conj(), y, lower=False, check_finite=False)
        x = x.astype(b.dtype, copy=False)
        ctx.upper = upper
        ctx.save_for_backward(factor, x)
        return x

    @staticmethod
    def backward(ctx, g):
        factor, X = ctx.saved_tensors
        Y = cholesky_solve(g, factor, ctx.upper)
        gF = None
        if ctx.needs_input_grad[1]:
            S = Y @ X.mH + X @ Y.mH
            gF = -(factor @ S) if ctx.upper else -(S @ factor)
        return Y, gF, None


def cholesky_solve(B, L, upper=False, *, out=None):
    """X with A X = B, A = L L^H (or U^H U when ``upper``), from the factor."""
    op = "cholesky_solve"
    _check_float(op, B, L)
    _check_matrix(op, L)
    _check_matrix(op, B, "B", square=False)
    _check_same_dtype(op, L, B)
    if B.shape[-2] != L.shape[-1]:
        raise RuntimeError(
            f"{op}: Incompatible matrix sizes for cholesky_solve: each A matrix is "
            f"{L.shape[-1]} by {L.shape[-1]} but each b matrix is {B.shape[-2]} by "
            f"{B.shape[-1]}"
        )
    _batch_of(op, L.shape[:-2], B.shape[:-2])
    if B._data.size == 0 or L._data.size == 0:
        shape = np.broadcast_shapes(L.shape[:-2], B.shape[:-2]) + tuple(B.shape[-2:])
        return maybe_out(wrap(np.zeros(shape, B._data.dtype)), out)
    return maybe_out(_CholeskySolve.apply(B, L, upper), out)


def cholesky_inverse(L, upper=False, *, out=None):
    """inv(L L^H) (or inv(U^H U) when ``upper``) from the factor."""
    op = "cholesky_inverse"
    _check_float(op, L)
    _check_matrix(op, L)
    eye = _eye_like(L).expand(L.shape)
    return maybe_out(cholesky_solve(eye, L, upper), out)


# -- inverse and solve with info -------------------------------------------------------------


def _singular_info(a):
    """Per matrix: 0, or the 1-based index of the first zero pivot of its LU factorization."""
    if a.size == 0:
        return np.zeros(a.shape[:-2], np.int32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lu, _ = sla.lu_factor(a, check_finite=False)
    d = np.diagonal(lu, axis1=-2, axis2=-1) == 0
    return np.where(d.any(-1), d.argmax(-1) + 1, 0).astype(np.int32)


def inv_ex(A, *, check_errors=False, out=None):
    """(inverse, info): info is 0 per invertible matrix, else the index of its zero pivot."""
    op = "linalg.inv_ex"
    _check_float(op, A)
    _check_matrix(op, A)
    info = _singular_info(A._data)
    if check_errors and info.any():
        raise LinAlgError(
            f"{op}: The diagonal element {info[info != 0].flat[0]} is zero, the inversion "
            "could not be completed because the input matrix is singular."
        )
    if info.any():
        res = wrap(np.full(A.shape, np.nan, A._data.dtype))
    else:
        res = inv(A)
    results = (res, _info_tensor(info))
    return _InvEx(*results) if out is None else _out_tuple(results, out, _InvEx)


def solve_ex(A, B, *, left=True, check_errors=False, out=None):
    """(result, info) of :func:`ember.linalg.solve`; info as in :func:`inv_ex`."""
    op = "linalg.solve_ex"
    _check_float(op, A, B)
    _check_matrix(op, A)
    info = _singular_info(A._data)
    if check_errors and info.any():
        raise LinAlgError(
            f"{op}: The solver failed because the input matrix is singular (the diagonal "
            f"element {info[info != 0].flat[0]} of its LU factorization is zero)."
        )
    if info.any():
        shape = solve(_eye_like(A).expand(A.shape), B, left=left).shape
        res = wrap(np.full(shape, np.nan, A._data.dtype))
    else:
        res = solve(A, B, left=left)
    results = (res, _info_tensor(info))
    return _SolveEx(*results) if out is None else _out_tuple(results, out, _SolveEx)


# -- least squares ---------------------------------------------------------------------------


class _LstsqSolution(ArrayFunction):
    """min ||A X - B|| for full-rank A: forward through the SVD (the minimum-norm solution),
    backward from the normal equations, in ember ops."""

    @staticmethod
    def forward(ctx, a, b, rcond):
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        keep = s > rcond * s[..., :1]
        s_inv = np.where(keep, 1 / np.where(keep, s, 1), 0)
        x = vh.conj().swapaxes(-1, -2) @ (s_inv[..., None] * (u.conj().swapaxes(-1, -2) @ b))
        x = x.astype(b.dtype, copy=False)
        ctx.save_for_backward(a, b, x)
        ctx.svd = (s, keep)
        return x

    @staticmethod
    def backward(ctx, g):
        A, B, X = ctx.saved_tensors
        m, n = A.shape[-2:]
        if m >= n:
            Y = solve(A.mH @ A, g)
            gA = (B - A @ X) @ Y.mH - A @ Y @ X.mH
            gB = A @ Y
        else:
            Z = solve(A @ A.mH, B)
            W = solve(A @ A.mH, A @ g)
            gA = Z @ g.mH - W @ X.mH - Z @ W.mH @ A
            gB = W
        return gA, gB, None


def lstsq(A, B, rcond=None, *, driver=None):
    """(solution, residuals, rank, singular_values) of min ||A X - B||_F, as torch on the CPU.

    Every driver computes the minimum-norm solution through the SVD; ``rank`` is reported for
    gelsy, gelsd and gelss, ``singular_values`` for gelsd and gelss, ``residuals`` when
    m > n, every matrix has full rank and the driver is not gelsy, as PyTorch does.
    """
    op = "torch.linalg.lstsq"
    _check_float(op, A, B)
    _check_matrix(op, A, square=False)
    if driver is None:
        driver = "gelsy"
    if driver not in _LSTSQ_DRIVERS:
        raise RuntimeError(
            f"{op}: parameter `driver` should be one of (gels, gelsy, gelsd, gelss), "
            f"but got {driver}"
        )
    _check_same_dtype(op, A, B)
    vector = B.ndim == A.ndim - 1
    Bm = B.unsqueeze(-1) if vector else B
    if Bm.shape[-2] != A.shape[-2]:
        raise RuntimeError(
            f"{op}: input.size(-2) should match other.size(-2), but got A of shape "
            f"{list(A.shape)} and B of shape {list(B.shape)}"
        )
    _batch_of(op, A.shape[:-2], Bm.shape[:-2])
    m, n = A.shape[-2:]
    real = np.finfo(A._data.dtype).dtype
    if rcond is None:
        rcond = float(np.finfo(real).eps) * max(m, n)
    X = _LstsqSolution.apply(A, Bm, rcond)
    s = np.linalg.svd(A._data, compute_uv=False) if A._data.size else np.zeros(
        A.shape[:-2] + (0,), real)  # fmt: skip
    s_max = s[..., :1] if s.shape[-1] else s
    rank = np.asarray((s > rcond * s_max).sum(-1), dtype=np.int64)
    empty_real = wrap(np.empty((0,), real))
    residuals = empty_real
    if m > n and driver != "gelsy" and bool((rank == n).all()):
        residuals = ((A @ X - Bm).abs() ** 2).sum(-2)  # (*, 1) for a vector B, as PyTorch
    rank_t = wrap(rank) if driver != "gels" else wrap(np.empty((0,), np.int64))
    sv = wrap(s.astype(real)) if driver in ("gelsd", "gelss") else empty_real
    return _Lstsq(X.squeeze(-1) if vector else X, residuals, rank_t, sv)


# -- composites ------------------------------------------------------------------------------


def cond(A, p=None, *, out=None):
    """The condition number of A in the norm ``p`` (the 2-norm by default)."""
    op = "linalg.cond"
    _check_float(op, A)
    if A.ndim < 2:
        raise RuntimeError(
            f"{op}: The input tensor A must have at least 2 dimensions, but got shape "
            f"{list(A.shape)}."
        )
    if A.shape[-1] == 0 and A.shape[-2] == 0:  # an empty matrix: 0, as PyTorch
        real = np.finfo(A._data.dtype).dtype
        return maybe_out(wrap(np.zeros(A.shape[:-2], real)), out)
    if p in (None, 2, -2):
        s = svdvals(A)
        r = s[..., 0] / s[..., -1] if p in (None, 2) else s[..., -1] / s[..., 0]
    elif p in ("fro", "nuc", 1, -1, float("inf"), float("-inf")):
        _check_matrix(op, A)
        info = _singular_info(A._data)
        if info.any():
            real = np.finfo(A._data.dtype).dtype
            r = wrap(np.where(info == 0, 0, np.inf).astype(real))
            good = info == 0
            if good.any():
                Ag = A if good.all() else wrap(np.where(good[..., None, None], A._data, np.eye(
                    A.shape[-1], dtype=A._data.dtype)))  # fmt: skip
                vals = matrix_norm(Ag, p) * matrix_norm(inv(Ag), p)
                r = wrap(np.where(good, vals._data, np.inf).astype(real))
        else:
            r = matrix_norm(A, p) * matrix_norm(inv(A), p)
    else:
        raise RuntimeError(f"{op}: got an invalid norm type: {p}")
    return maybe_out(r, out)


def diagonal(A, *, offset=0, dim1=-2, dim2=-1):
    """The (offset) diagonals of A's matrices: a view."""
    return A.diagonal(offset, dim1, dim2)


@numpy_kwargs
def vecdot(x, y, *, dim=-1, out=None):
    """sum(conj(x) * y) over ``dim``, with broadcasting."""
    op = "linalg.vecdot"
    if x.dtype != y.dtype:
        raise RuntimeError(
            f"{op}: Expected x and y to have the same dtype, but found x of type {x.dtype} and "
            f"y of type {y.dtype} instead"
        )
    xc = x.conj() if x._data.dtype.kind == "c" else x
    return maybe_out((xc * y).sum(dim), out)


def multi_dot(tensors, *, out=None):
    """The product of the matrices in ``tensors`` in the cheapest order; the first may be a
    row vector and the last a column vector, given as 1-D tensors."""
    op = "multi_dot"
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"{op}(): expected at least 2 tensors but got {len(tensors)}")
    first_vec, last_vec = tensors[0].ndim == 1, tensors[-1].ndim == 1
    mats = list(tensors)
    if first_vec:
        mats[0] = mats[0].unsqueeze(0)
    if last_vec:
        mats[-1] = mats[-1].unsqueeze(-1)
    for i, t in enumerate(mats):
        if t.ndim != 2:
            where = "first and last" if i in (0, len(mats) - 1) else "middle"
            raise RuntimeError(
                f"{op}(): tensor {i} must be 2D{' or 1D' if where != 'middle' else ''} but got "
                f"{tensors[i].ndim}D"
            )
        if t.dtype != mats[0].dtype:
            raise RuntimeError(
                f"{op}(): all tensors must have the same dtype, got tensor 0 of dtype "
                f"{mats[0].dtype} and tensor {i} of dtype {t.dtype}"
            )
    for i in range(len(mats) - 1):
        if mats[i].shape[1] != mats[i + 1].shape[0]:
            raise RuntimeError(
                f"{op}(): tensors {i} and {i + 1} with shapes {list(mats[i].shape)} and "
                f"{list(mats[i + 1].shape)} cannot be multiplied"
            )
    result = _chain(mats, _chain_order([m.shape[0] for m in mats] + [mats[-1].shape[1]]))
    if first_vec:
        result = result.squeeze(0)
    if last_vec:
        result = result.squeeze(-1)
    return maybe_out(result, out)


def _chain_order(dims):
    """The split table of the cheapest parenthesization (dynamic programming over chains)."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = float("inf")
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def _chain(mats, split, i=0, j=None):
    j = len(mats) - 1 if j is None else j
    if i == j:
        return mats[i]
    k = split[i][j]
    return matmul(_chain(mats, split, i, k), _chain(mats, split, k + 1, j))


def tensorinv(A, ind=2, *, out=None):
    """The inverse of A read as a matrix of shape (prod(A.shape[:ind]), prod(A.shape[ind:]))."""
    op = "linalg.tensorinv"
    if ind <= 0:
        raise RuntimeError(f"{op}: Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = A.shape[:ind], A.shape[ind:]
    n_rows, n_cols = int(np.prod(rows)), int(np.prod(cols))
    if n_rows != n_cols:
        raise RuntimeError(
            f"{op}: Expected self to satisfy the requirement prod(self.shape[ind:]) == "
            f"prod(self.shape[:ind]), but got {n_cols} != {n_rows}"
        )
    return maybe_out(inv(A.reshape(n_rows, n_cols)).reshape(cols + rows), out)


def tensorsolve(A, B, dims=None, *, out=None):
    """X with tensordot(A, X, X.ndim) = B."""
    op = "linalg.tensorsolve"
    if dims is not None:
        dims = [d % A.ndim for d in dims]
        rest = [d for d in range(A.ndim) if d not in dims]
        A = A.permute(rest + dims)
    x_shape = A.shape[B.ndim :]
    n_b, n_x = int(np.prod(B.shape)), int(np.prod(x_shape))
    if A.shape[: B.ndim] != B.shape or n_b != n_x:
        raise RuntimeError(
            f"{op}: Expected self to satisfy the requirement prod(result.shape) == "
            f"prod(other.shape), but got A of shape {list(A.shape)} and B of shape "
            f"{list(B.shape)}"
        )
    X = solve(A.reshape(n_b, n_x), B.reshape(n_b))
    return maybe_out(X.reshape(x_shape), out)


def vander(x, *, N=None):
    """The Vandermonde matrices of the last dim of x: powers 0 .. N-1 of each element."""
    op = "linalg.vander"
    if x.ndim < 1:
        raise RuntimeError(f"{op}: x must have at least one dimension, but got a 0-d tensor")
    n = x.shape[-1] if N is None else N
    if n < 1:
        raise RuntimeError(f"{op}: N must be greater than 1, but got N={n}")
    if x._data.dtype.kind == "b":
        x = x.long()
    ones = wrap(np.ones(x.shape + (1,), x._data.dtype))
    if n == 1:
        return ones
    powers = cat([ones, x.unsqueeze(-1).expand(x.shape + (n - 1,))], -1)
    return powers.cumprod(-1)
