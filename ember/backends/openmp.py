"""OpenMP: NumPy's BLAS threads stand in for it."""


def is_available():
    return True
