"""Differentiable Cholesky factorisation and triangular solve for the Gaussian distributions."""

import numpy as np

from ember._ops.linalg import LinAlgError
from ember._ops.shape import diag_embed
from ember.autograd.function import ArrayFunction

__all__ = ["cholesky", "solve_lower"]


class _Cholesky(ArrayFunction):
    """L with L L^T = A, L lower triangular."""

    @staticmethod
    def forward(ctx, a):
        try:
            factor = np.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            raise LinAlgError(
                f"cholesky: the matrix of shape {list(a.shape)} is not positive-definite"
            ) from None
        ctx.save_for_backward(factor)
        return factor

    @staticmethod
    def backward(ctx, g):
        # With P = L^T g masked to its lower triangle with the diagonal halved,
        # dA = L^-T P L^-1, symmetrised (Murray, "Differentiation of the Cholesky decomposition").
        (factor,) = ctx.saved_tensors
        p = (factor.mT @ g).tril()
        p = p - 0.5 * diag_embed(p.diagonal(dim1=-2, dim2=-1))
        y = solve_lower(factor, p, transpose=True)  # L^-T P
        s = solve_lower(factor, y.mT, transpose=True).mT  # (L^-T P) L^-1
        return 0.5 * (s + s.mT)


def cholesky(a):
    """The lower Cholesky factor of symmetric positive-definite ``a`` (batched)."""
    return _Cholesky.apply(a)


class _SolveLower(ArrayFunction):
    """X with L X = B (or L^T X = B when ``transpose``), L lower triangular, B a matrix."""

    @staticmethod
    def forward(ctx, lower, b, transpose):
        ctx.transpose = transpose
        m = np.tril(lower)  # only the lower triangle is read, as in a triangular solve
        m = m.swapaxes(-1, -2) if transpose else m
        shape = np.broadcast_shapes(m.shape[:-2], b.shape[:-2])
        x = np.linalg.solve(np.broadcast_to(m, shape + m.shape[-2:]),
                            np.broadcast_to(b, shape + b.shape[-2:]))  # fmt: skip
        ctx.save_for_backward(lower, x)
        return x

    @staticmethod
    def backward(ctx, g):
        lower, x = ctx.saved_tensors
        gb = solve_lower(lower, g, transpose=not ctx.transpose)
        if ctx.transpose:
            gl = -(x @ gb.mT).tril()
        else:
            gl = -(gb @ x.mT).tril()
        return gl, gb, None


def solve_lower(lower, b, transpose=False):
    """L^-1 B (or L^-T B): ``lower`` lower triangular, batch dims broadcast."""
    return _SolveLower.apply(lower, b, transpose)
