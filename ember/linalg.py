"""ember.linalg: norms, inverse, determinant, solve and decompositions."""

from ember._ops.linalg import (
    LinAlgError,
    cholesky,
    cross,
    det,
    eigh,
    eigvalsh,
    inv,
    matrix_norm,
    matrix_power,
    matrix_rank,
    pinv,
    qr,
    slogdet,
    solve,
    svd,
    svdvals,
    vector_norm,
)
from ember._ops.linalg import linalg_norm as norm

__all__ = [
    "norm", "vector_norm", "matrix_norm", "inv", "det", "slogdet", "solve", "svd", "svdvals",
    "qr", "cholesky", "eigh", "eigvalsh", "matrix_rank", "pinv", "matrix_power", "cross",
    "LinAlgError",
]  # fmt: skip
