"""ember.linalg: norms, inverse, determinant, solve and decompositions."""

from ember._ops.householder import householder_product
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
    solve,
    svd,
    svdvals,
    vector_norm,
)
from ember._ops.linalg import linalg_norm as norm
from ember._ops.linalg import linalg_slogdet as slogdet
from ember._ops.linalg_decompositions import eig, eigvals
from ember._ops.linalg_extra import (
    cholesky_ex,
    cond,
    diagonal,
    inv_ex,
    lstsq,
    matmul,
    matrix_exp,
    multi_dot,
    solve_ex,
    solve_triangular,
    tensorinv,
    tensorsolve,
    vander,
    vecdot,
)
from ember._ops.linalg_lu import (
    ldl_factor,
    ldl_factor_ex,
    ldl_solve,
    lu,
    lu_factor,
    lu_factor_ex,
    lu_solve,
)

__all__ = [
    "norm", "vector_norm", "matrix_norm", "inv", "det", "slogdet", "solve", "svd", "svdvals",
    "qr", "cholesky", "eigh", "eigvalsh", "matrix_rank", "pinv", "matrix_power", "cross",
    "LinAlgError", "cholesky_ex", "cond", "diagonal", "eig", "eigvals", "householder_product",
    "inv_ex", "ldl_factor", "ldl_factor_ex", "ldl_solve", "lstsq", "lu", "lu_factor",
    "lu_factor_ex", "lu_solve", "matmul", "matrix_exp", "multi_dot", "solve_ex",
    "solve_triangular", "tensorinv", "tensorsolve", "vander", "vecdot",
]  # fmt: skip
