"""The trapezoidal rule along a dimension: `trapezoid` (alias `trapz`) and
`cumulative_trapezoid`, written with differentiable ops."""

from ember._ops._numpy_kwargs import numpy_kwargs
from ember._ops.reduce import cumsum
from ember._ops.reduce import sum as sum_
from ember._tensor import Tensor

__all__ = ["trapezoid", "trapz", "cumulative_trapezoid"]


def _pieces(y, x, dx, dim, op):
    """The area of each interval along ``dim``: widths times mean heights."""
    if x is not None and dx is not None:
        raise TypeError(f"{op}: pass either x or dx, not both")
    n = y.shape[dim]
    heights = (y.narrow(dim, 1, n - 1) + y.narrow(dim, 0, n - 1)) / 2
    if x is None:
        return heights * (1.0 if dx is None else dx)
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: x must be a tensor, got {type(x).__name__}")
    if x.dim() == 1:
        if x.shape[0] != n:
            raise RuntimeError(
                f"{op}: There must be one `x` value for each sample point; x has {x.shape[0]} "
                f"values and y has {n} along dim {dim}"
            )
        widths = x[1:] - x[:-1]
        shape = [1] * y.dim()
        shape[dim] = n - 1
        return heights * widths.reshape(shape)
    m = x.shape[dim]
    return heights * (x.narrow(dim, 1, m - 1) - x.narrow(dim, 0, m - 1))


@numpy_kwargs
def trapezoid(y, x=None, *, dx=None, dim=-1):
    """The integral of ``y`` along ``dim`` by the trapezoidal rule, with samples at ``x`` or
    spaced ``dx`` apart (1 by default)."""
    if isinstance(x, int | float) and dx is None:
        x, dx = None, x
    if y.shape[dim] == 0:
        return sum_(y, dim)
    return sum_(_pieces(y, x, dx, dim, "trapezoid"), dim)


trapz = trapezoid


@numpy_kwargs
def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    """The running integral of ``y`` along ``dim`` (one value fewer than ``y`` has)."""
    if isinstance(x, int | float) and dx is None:
        x, dx = None, x
    return cumsum(_pieces(y, x, dx, dim, "cumulative_trapezoid"), dim)
