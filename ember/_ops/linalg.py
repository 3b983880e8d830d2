"""Linear algebra: matmul and friends (BLAS through NumPy), einsum, and ember.linalg."""

import numpy as np

from ember import _dtype
from ember._ops import einsum_product
from ember._ops._first_order import first_order_only
from ember._ops._numpy_kwargs import numpy_kwargs
from ember._ops._promotion import maybe_out
from ember._ops._return_types import return_type
from ember._ops._util import norm_dims
from ember._ops.complex import conj_of
from ember._ops.shape import stack
from ember._tensor import Tensor, wrap
from ember.autograd.function import ArrayFunction
from ember.backends.onednn import matmul as onednn_matmul

__all__ = [
    "matmul", "mm", "bmm", "mv", "dot", "vdot", "inner", "outer", "ger", "addmm", "addmv",
    "addbmm", "baddbmm", "einsum", "tensordot", "kron", "cross", "cdist", "det", "inverse",
    "logdet", "slogdet", "chain_matmul", "matrix_power",
]  # fmt: skip


def _shape_str(t):
    return "x".join(str(s) for s in t.shape)


def _check_dtypes(op, a, b):
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(
            f"{op}: expected m1 and m2 to have the same dtype, but got: {a.dtype.name} != "
            f"{b.dtype.name}"
        )


_BLAS_DTYPES = frozenset(map(np.dtype, ("float32", "float64", "complex64", "complex128")))
# Largest right-hand matrix (in elements) of a stack that is copied when stored transposed.
_SMALL_MATRIX = 64 * 64


def _row_major_small_matrices(b):
    """``b``, or a C-contiguous copy of it when it is a stack of small matrices each stored
    transposed (``k.mT`` in attention's q @ k^T, ``v.mT`` in its backward). NumPy hands
    either layout to BLAS, but for matrices this small OpenBLAS's transposed kernel costs
    about 1.3-1.5x the plain one (measured on (32, 4, 64, 32) @ (32, 4, 32, 64): 0.64 ms
    against 0.42 ms with the copy included); for larger matrices the copy does not pay."""
    if (
        b.ndim > 2
        and b.__class__ is np.ndarray
        and b.dtype in _BLAS_DTYPES
        and b.shape[-2] * b.shape[-1] <= _SMALL_MATRIX
        and b.strides[-2] == b.itemsize
        and b.shape[-1] > 1
        and b.strides[-1] != b.itemsize
        and 0 not in b.strides[:-2]  # a broadcast stack is not expanded
    ):
        return np.ascontiguousarray(b)
    return b


class MatMul(ArrayFunction):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        out = onednn_matmul.product(a, b)
        if out is None:
            out = np.matmul(a, _row_major_small_matrices(b))
        return out if out.dtype == a.dtype else out.astype(a.dtype)  # bfloat16 gives float32

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        a, b = conj_of(a), conj_of(b)  # complex: the products with the conjugates
        ga = gb = None
        if a.ndim == 1 and b.ndim == 1:
            return (g * b if ctx.needs_input_grad[0] else None,
                    g * a if ctx.needs_input_grad[1] else None)  # fmt: skip
        if a.ndim == 1:
            g2 = g.unsqueeze(-2)
            if ctx.needs_input_grad[0]:
                ga = (g2 @ b.mT).squeeze(-2)
            if ctx.needs_input_grad[1]:
                gb = a.unsqueeze(-1) @ g2
            return ga, gb
        if b.ndim == 1:
            g2 = g.unsqueeze(-1)
            if ctx.needs_input_grad[0]:
                ga = g2 @ b.unsqueeze(-2)
            if ctx.needs_input_grad[1]:
                gb = (a.mT @ g2).squeeze(-1)
                if gb.ndim > 1:
                    gb = gb.reshape(-1, gb.shape[-1]).sum(0)
            return ga, gb
        if ctx.needs_input_grad[0]:
            ga = g @ b.mT
        if ctx.needs_input_grad[1]:
            gb = a.mT @ g
        return ga, gb


def matmul(input, other, *, out=None):
    """Matrix product with NumPy/PyTorch broadcasting of batch dims."""
    if not isinstance(other, Tensor) or not isinstance(input, Tensor):
        raise TypeError(f"matmul(): argument 'other' must be Tensor, not {type(other).__name__}")
    a, b = input._data, other._data
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(
            f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D"
        )
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        if a.ndim == 1 and b.ndim == 1:
            raise RuntimeError(
                f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src [{b.shape[0]}]"
                " to have the same number of elements, but got "
                f"{a.shape[0]} and {b.shape[0]} elements respectively"
            )
        left = _shape_str(input) if a.ndim > 1 else f"1x{a.shape[0]}"
        right = _shape_str(other) if b.ndim > 1 else f"{b.shape[0]}x1"
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({left} and {right})")
    _check_dtypes("matmul", input, other)
    if a.dtype.kind == "b":
        raise RuntimeError("\"addmm_impl_cpu_\" not implemented for 'Bool'")
    try:
        r = MatMul.apply(input, other)
    except ValueError:
        raise RuntimeError(
            f"matmul: batch dimensions cannot be broadcast: {list(input.shape)} and "
            f"{list(other.shape)}"
        ) from None
    return maybe_out(r, out)


def _out_dtype_matches(result, out):
    if out is not None and out._data.dtype != result._data.dtype:
        raise RuntimeError(
            f"Expected out tensor to have dtype {result.dtype.name}, but got "
            f"{out.dtype.name} instead"
        )
    return maybe_out(result, out)


def mm(input, mat2, *, out=None):
    if input.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"{'self' if input.ndim != 2 else 'mat2'} must be a matrix")
    return _out_dtype_matches(matmul(input, mat2), out)


def bmm(input, mat2):
    if input.ndim != 3 or mat2.ndim != 3:
        raise RuntimeError(f"batch1 must be a 3D tensor (got {input.ndim}D and {mat2.ndim}D)")
    if input.shape[0] != mat2.shape[0]:
        raise RuntimeError(
            f"batch1 and batch2 must have same number of batches, got {input.shape[0]} and "
            f"{mat2.shape[0]}"
        )
    if input.shape[2] != mat2.shape[1]:
        raise RuntimeError(
            f"Expected size for first two dimensions of batch2 tensor to be: [{input.shape[0]}, "
            f"{input.shape[2]}] but got: [{mat2.shape[0]}, {mat2.shape[1]}]."
        )
    return matmul(input, mat2)


def mv(input, vec):
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input.ndim}, {vec.ndim}")
    return matmul(input, vec)


def dot(input, other):
    if input.ndim != 1 or other.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    return matmul(input, other)


vdot = dot


def inner(input, other):
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    return matmul(input, other.mT if other.ndim > 1 else other) if other.ndim <= 2 else (
        tensordot(input, other, dims=([-1], [-1])))  # fmt: skip


def outer(input, vec2):
    return input.reshape(-1, 1) * vec2.reshape(1, -1)


ger = outer


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    prod = mm(mat1, mat2)
    return _out_dtype_matches(_scaled_sum(input, prod, beta, alpha), out)


def addmv(input, mat, vec, *, beta=1, alpha=1):
    return _scaled_sum(input, mv(mat, vec), beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    return _scaled_sum(input, bmm(batch1, batch2), beta, alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    return _scaled_sum(input, bmm(batch1, batch2).sum(0), beta, alpha)


def _scaled_sum(input, prod, beta, alpha):
    if alpha != 1:
        prod = prod * alpha
    if beta == 0:
        return prod + wrap(np.zeros(input.shape, prod._data.dtype))  # input ignored, NaN too
    return prod + (input if beta == 1 else input * beta)


class Einsum(ArrayFunction):
    @staticmethod
    def forward(ctx, equation, *xs):
        ctx.equation = equation
        ctx.save_for_backward(*xs)
        if len(xs) == 2:
            found = einsum_product.contract(equation, *xs)
            if found is not None:
                return found
        return np.einsum(equation, *xs, optimize=len(xs) > 2 or None)

    @staticmethod
    def backward(ctx, g):
        xs = ctx.saved_tensors
        ins, out = ctx.equation.split("->")
        terms = ins.split(",")
        grads = [None]
        for i, x in enumerate(xs):
            if not ctx.needs_input_grad[i + 1]:
                grads.append(None)
                continue
            others = [t for j, t in enumerate(terms) if j != i]
            other_x = [t for j, t in enumerate(xs) if j != i]
            target = terms[i]
            uniq = "".join(dict.fromkeys(target))  # a repeated letter is a diagonal of x
            sizes = {c: x.shape[target.index(c)] for c in uniq}
            # Letters of x that appear nowhere else (summed out in forward) come back by
            # broadcasting.
            avail = set(out) | set("".join(others))
            kept = "".join(c for c in uniq if c in avail)
            eq = ",".join([out] + others) + "->" + kept
            gx = einsum(eq, g, *[conj_of(t) for t in other_x])
            if kept != uniq:
                full = [sizes[c] if c in avail else 1 for c in uniq]
                gx = gx.reshape(full).expand(tuple(sizes[c] for c in uniq))
            if uniq != target:
                gx = _onto_diagonals(gx, uniq, target, sizes, g._data.dtype)
            grads.append(gx)
        return tuple(grads)


def _onto_diagonals(gx, uniq, target, sizes, dtype):
    """Place ``gx`` (indexed by ``uniq``) on the diagonals that ``target`` repeats."""
    fresh = iter(c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in target)
    seen, letters, eyes = set(), [], []
    for c in target:
        if c in seen:
            n = next(fresh)
            letters.append(n)
            eyes.append((c + n, wrap(np.eye(sizes[c], dtype=dtype))))
        else:
            seen.add(c)
            letters.append(c)
    eq = ",".join([uniq] + [e for e, _ in eyes]) + "->" + "".join(letters)
    return einsum(eq, gx, *[t for _, t in eyes])


def _normalize_equation(equation, ndims):
    eq = equation.replace(" ", "")
    if "->" not in eq:
        ins = eq
        letters = "".join(c for c in ins if c.isalpha())
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
        eq = ins + "->" + out
    if "..." in eq:
        ins, out = eq.split("->")
        terms = ins.split(",")
        used = set(c for c in eq if c.isalpha())
        free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in used]
        n_ell = max(nd - (len(t) - 3) for t, nd in zip(terms, ndims) if "..." in t)
        ell = "".join(free[:n_ell])
        new_terms = []
        for t, nd in zip(terms, ndims):
            if "..." in t:
                k = nd - (len(t) - 3)
                t = t.replace("...", ell[n_ell - k :])
            new_terms.append(t)
        if "..." in out:
            out = out.replace("...", ell)
        elif "->" not in equation:
            out = ell + out
        eq = ",".join(new_terms) + "->" + out
    return eq


def einsum(equation, *operands):
    """Einstein summation, differentiable in every operand."""
    if len(operands) == 1 and isinstance(operands[0], list | tuple):
        operands = tuple(operands[0])
    eq = _normalize_equation(equation, [t.ndim for t in operands])
    terms = eq.split("->")[0].split(",")
    if len(terms) != len(operands):
        raise RuntimeError(
            "einsum(): more operands were provided than specified in the equation"
            if len(operands) > len(terms) else
            "einsum(): fewer operands were provided than specified in the equation"
        )  # fmt: skip
    for t, x in zip(terms, operands):
        if len(t) != x.ndim:
            raise RuntimeError(
                f"einsum(): the number of subscripts in the equation ({len(t)}) does not match "
                f"the number of dimensions ({x.ndim}) for operand {terms.index(t)}"
            )
    dt = _dtype.result_type(*operands)
    operands = [x if x.dtype is dt else x.to(dt) for x in operands]
    try:
        return Einsum.apply(eq, *operands)
    except ValueError as e:
        raise RuntimeError(f"einsum(): {e}") from None


def tensordot(a, b, dims=2):
    if isinstance(dims, int):
        da = list(range(a.ndim - dims, a.ndim))
        db = list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, int) else list(da)
        db = [db] if isinstance(db, int) else list(db)
    da = [d % a.ndim for d in da]
    db = [d % b.ndim for d in db]
    letters = "abcdefghijklmnopqrstuvwxyz"
    ta = list(letters[: a.ndim])
    tb = list(letters[a.ndim : a.ndim + b.ndim])
    for i, j in zip(da, db):
        tb[j] = ta[i]
    out = [c for k, c in enumerate(ta) if k not in da] + [
        c for k, c in enumerate(tb) if k not in db
    ]
    return einsum("".join(ta) + "," + "".join(tb) + "->" + "".join(out), a, b)


def kron(input, other):
    a = input.reshape(tuple(s for d in input.shape for s in (d, 1)))
    b = other.reshape(tuple(s for d in other.shape for s in (1, d)))
    return (a * b).reshape(tuple(x * y for x, y in zip(input.shape, other.shape)))


@numpy_kwargs
def cross(input, other, dim=None):
    if dim is None:
        dim = next(i for i, s in enumerate(input.shape) if s == 3)
    a = [input.select(dim, i) for i in range(3)]
    b = [other.select(dim, i) for i in range(3)]
    return stack([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                  a[0] * b[1] - a[1] * b[0]], dim)  # fmt: skip


def cdist(x1, x2, p=2.0):
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return vector_norm(diff, p, dim=-1)


def chain_matmul(*matrices):
    out = matrices[0]
    for m in matrices[1:]:
        out = out @ m
    return out


# -- ember.linalg ----------------------------------------------------------------------------


@numpy_kwargs
def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """The p-norm over ``dim`` (all elements by default)."""
    if dtype is not None:
        x = x.to(dtype)
    if x._data.dtype.kind not in "fcV":
        raise RuntimeError(
            f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
            f"{x.dtype.name.capitalize()}"
        )
    dims = norm_dims(dim, x.ndim, "vector_norm") if dim is not None else tuple(range(x.ndim))
    if x.ndim == 0:
        dims = ()  # a 0-d tensor accepts dim 0 or -1, as PyTorch's reductions do
    a = x.abs()
    if ord == float("inf"):
        return a.amax(dims, keepdim)
    if ord == float("-inf"):
        return a.amin(dims, keepdim)
    if ord == 0:
        return (x != 0).to(x.dtype).sum(dims, keepdim)
    if ord == 1:
        return a.sum(dims, keepdim)
    if ord == 2:
        return _L2Norm.apply(x, dims, keepdim)
    return (a**ord).sum(dims, keepdim) ** (1.0 / ord)


class _L2Norm(ArrayFunction):
    """sqrt(sum x^2) with the subgradient 0 at x = 0, as PyTorch."""

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        # An array, not a NumPy scalar: the saved output must be the very object returned.
        out = np.asarray(np.sqrt(np.sum(x * x, axis=dims, keepdims=keepdim)), dtype=x.dtype)
        ctx.args = (x.shape, dims, keepdim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        shape, dims, keepdim = ctx.args
        if not keepdim:
            keep = tuple(1 if i in dims else s for i, s in enumerate(shape))
            g, out = g.reshape(keep), out.reshape(keep)
        safe = out.masked_fill(out == 0, 1.0)
        return g * x / safe * (out != 0).to(x.dtype), None, None


@numpy_kwargs
def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    if ord == "fro":
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if ord == "nuc":
        return svdvals(A).sum(-1)
    d0, d1 = dim
    if ord in (1, -1):
        s = A.abs().sum(d0, keepdim=True)
        r = s.amax(d1, keepdim=True) if ord == 1 else s.amin(d1, keepdim=True)
    elif ord in (float("inf"), float("-inf")):
        s = A.abs().sum(d1, keepdim=True)
        r = s.amax(d0, keepdim=True) if ord > 0 else s.amin(d0, keepdim=True)
    elif ord in (2, -2):
        sv = svdvals(A)
        return sv[..., 0] if ord == 2 else sv[..., -1]
    else:
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    return r if keepdim else r.squeeze((d0, d1))


@numpy_kwargs
def linalg_norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    if ord is None and dim is None:
        return vector_norm(A.reshape(-1), 2, None, keepdim, dtype=dtype) if not keepdim else (
            vector_norm(A, 2, None, keepdim, dtype=dtype))  # fmt: skip
    if isinstance(dim, int) or (dim is None and A.ndim == 1) or (
        isinstance(dim, tuple | list) and len(dim) == 1):  # fmt: skip
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    return matrix_norm(A, "fro" if ord is None else ord, dim or (-2, -1), keepdim, dtype=dtype)


class LinAlgError(RuntimeError):
    """A linear-algebra routine could not finish (a singular matrix), as torch.linalg's."""


class Inv(ArrayFunction):
    @staticmethod
    def forward(ctx, a):
        try:
            out = np.linalg.inv(a)
        except np.linalg.LinAlgError:
            raise LinAlgError(
                "linalg.inv: The diagonal element 1 is zero, the inversion could not be "
                "completed because the input matrix is singular."
            ) from None
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        (inv,) = ctx.saved_tensors
        return -(inv.mT @ g @ inv.mT)


def _square(A, op):
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise RuntimeError(
            f"{op}: A must be batches of square matrices, but they are {A.shape[-2] if A.ndim > 1 else ''} by {A.shape[-1] if A.ndim else ''} matrices"  # noqa: E501
        )
    if A._data.dtype.kind not in "fc":
        raise RuntimeError(
            f"{op}: Expected a floating point or complex tensor as input. "
            f"Got {A.dtype.name.capitalize()}"
        )  # noqa: E501


def inv(A):
    _square(A, "linalg.inv")
    return Inv.apply(A)


inverse = inv


class Det(ArrayFunction):
    @staticmethod
    def forward(ctx, a):
        out = np.linalg.det(a).astype(a.dtype)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        return (g * out).unsqueeze(-1).unsqueeze(-1) * inv(a).mT


def det(A):
    _square(A, "linalg.det")
    return Det.apply(A)


_LinalgSlogdet = return_type("linalg_slogdet", ["sign", "logabsdet"])
_Slogdet = return_type("slogdet", ["sign", "logabsdet"])


def linalg_slogdet(A):
    """(sign, log |det|) as ``torch.linalg.slogdet`` names them."""
    _square(A, "linalg.slogdet")
    sign = wrap(np.asarray(np.linalg.slogdet(A._data)[0], dtype=A._data.dtype))
    return _LinalgSlogdet(sign, (A.det() * sign).log())


def slogdet(A):
    """``torch.slogdet`` and ``Tensor.slogdet``: linalg.slogdet's result under its own name."""
    return _Slogdet(*linalg_slogdet(A))


def logdet(A):
    return A.det().log()


class Solve(ArrayFunction):
    @staticmethod
    def forward(ctx, a, b, vector):
        bb = b[..., None] if vector else b
        try:
            out = np.linalg.solve(a, bb)
        except np.linalg.LinAlgError:
            raise LinAlgError(
                "linalg.solve: The solver failed because the input matrix is singular."
            ) from None
        out = out[..., 0] if vector else out
        ctx.vector = vector
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, x = ctx.saved_tensors
        gb = solve(a.mT, g)
        if ctx.vector:
            ga = -gb.unsqueeze(-1) * x.unsqueeze(-2)
        else:
            ga = -(gb @ x.mT)
        return ga, gb, None


def solve(A, B, *, left=True):
    _square(A, "linalg.solve")
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and B.shape == A.shape[:-1])
    if A.shape[-1] != (B.shape[-1] if vector else B.shape[-2]):
        raise RuntimeError(
            f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
            f"({_shape_str(A)} and {_shape_str(B)})"
        )
    return Solve.apply(A, B, vector)


def svd(A, full_matrices=True):
    """(U, S, Vh), differentiable for distinct singular values."""
    from ember._ops import linalg_decompositions  # it imports this module

    return linalg_decompositions.svd(A, full_matrices)


def svdvals(A):
    return _SvdVals.apply(A)


class _SvdVals(ArrayFunction):
    @staticmethod
    def forward(ctx, a):
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        ctx.svd = (u, vh)  # the singular vectors: computed here, never a user tensor
        ctx.save_for_backward(a, s)
        return s

    @staticmethod
    def backward(ctx, g):
        a, s = ctx.saved_tensors
        u, vh = ctx.svd
        return _SvdValsGrad.apply(g, a, u, s._data.copy(), vh)


class _SvdValsGrad(ArrayFunction):
    """U diag(g) V^T for A = U S V^T (svdvals' gradient), differentiable once more.

    Its derivative with respect to A goes through the singular vectors' derivatives
    (Townsend, "Differentiating the Singular Value Decomposition"), defined for distinct
    nonzero singular values, as in PyTorch.
    """

    @staticmethod
    def forward(ctx, g, a, u, s, vh):
        ctx.svd = (u, s, vh)
        ctx.save_for_backward(g, a)
        return (u * g[..., None, :]) @ vh

    @staticmethod
    def backward(ctx, gg):
        g, a = ctx.saved_tensors
        u, s, vh = ctx.svd
        h, gd = gg._data, g._data
        v, ut = vh.swapaxes(-1, -2), u.swapaxes(-1, -2)
        dg = (u * (h @ v)).sum(-2)
        u_bar = (h @ v) * gd[..., None, :]  # the cotangents of U and V
        v_bar = (h.swapaxes(-1, -2) @ u) * gd[..., None, :]
        with np.errstate(divide="ignore"):
            f = 1 / (s[..., None, :] ** 2 - s[..., :, None] ** 2)
        k = s.shape[-1]
        f[..., np.arange(k), np.arange(k)] = 0
        j = f * (ut @ u_bar - u_bar.swapaxes(-1, -2) @ u)
        m = f * (vh @ v_bar - v_bar.swapaxes(-1, -2) @ v)
        da = u @ (j * s[..., None, :] + s[..., :, None] * m) @ vh
        if u.shape[-2] > k:  # the part of U's cotangent outside its column space
            da = da + ((u_bar - u @ (ut @ u_bar)) / s[..., None, :]) @ vh
        if vh.shape[-1] > k:
            vb_t = v_bar.swapaxes(-1, -2)
            da = da + (u / s[..., None, :]) @ (vb_t - (vb_t @ v) @ vh)
        third = "svdvals_double_backward"
        return (first_order_only(dg, third, g, a), first_order_only(da, third, g, a),
                None, None, None)  # fmt: skip


def qr(A, mode="reduced"):
    """(Q, R) with A = Q R, differentiable."""
    from ember._ops import linalg_decompositions  # it imports this module

    return linalg_decompositions.qr(A, mode)


def cholesky(A, *, upper=False, out=None):
    """The Cholesky factor, differentiable (see ``linalg_extra.cholesky_ex``)."""
    from ember._ops import linalg_extra  # it imports this module

    L, info = linalg_extra.cholesky_ex(A, upper=upper)
    if info._data.any():
        raise LinAlgError(
            "linalg.cholesky: The factorization could not be completed because the input is not "
            f"positive-definite (the leading minor of order {int(info._data[info._data != 0][0])} "
            "is not positive-definite)."
        )
    return maybe_out(L, out)


def eigh(A, UPLO="L"):
    """(eigenvalues, eigenvectors) of Hermitian matrices, differentiable."""
    from ember._ops import linalg_decompositions  # it imports this module

    return linalg_decompositions.eigh(A, UPLO)


def eigvalsh(A, UPLO="L"):
    """The eigenvalues of Hermitian matrices, ascending, differentiable."""
    return eigh(A, UPLO)[0]


def matrix_rank(A, tol=None, hermitian=False):
    return wrap(np.asarray(np.linalg.matrix_rank(A._data, tol=tol, hermitian=hermitian),
                           dtype=np.int64))  # fmt: skip


def pinv(A, rcond=None, hermitian=False, *, atol=None, rtol=None, out=None):
    """The pseudo-inverse, differentiable (see ``linalg_decompositions.pinv``)."""
    from ember._ops import linalg_decompositions  # it imports this module

    return linalg_decompositions.pinv(A, rcond, hermitian, atol=atol, rtol=rtol, out=out)


def matrix_power(A, n):
    """``A`` multiplied by itself ``n`` times (the inverse's power for negative ``n``)."""
    if A.dim() < 2:
        raise RuntimeError(
            "linalg.matrix_power: The input tensor A must have at least 2 dimensions."
        )
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(
            "linalg.matrix_power: A must be batches of square matrices, but they are "
            f"{A.shape[-2]} by {A.shape[-1]} matrices"
        )
    if n == 0:  # identities, on A's device; as in PyTorch, A gets a zero gradient
        eye = wrap(np.eye(A.shape[-1], dtype=A._data.dtype)).to(A.device)
        return A.clone().copy_(eye)
    if n < 0:
        A, n = inv(A), -n
    out = A
    for _ in range(n - 1):
        out = out @ A
    return out
