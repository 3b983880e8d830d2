"""``torch.testing``: `assert_close` and `make_tensor`, as PyTorch's.

`assert_close` compares tensors (or numbers, or the same nesting of sequences and mappings of
them) elementwise with ``|actual - expected| <= atol + rtol * |expected|``, with tolerances
chosen by dtype when not given, and fails with PyTorch's report: how many elements differ
and where the greatest absolute and relative differences are.
"""

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ember import _dtype
from ember._ops.creation import from_numpy
from ember._tensor import Tensor

__all__ = ["assert_close", "make_tensor"]

_DEFAULT_TOLERANCES = {  # dtype name: (rtol, atol)
    "float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
    "float64": (1e-7, 1e-7), "complex64": (1.3e-6, 1e-5),
}  # fmt: skip


def _as_tensor(value):
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return from_numpy(value)
    if isinstance(value, bool | int | float | complex):
        return from_numpy(np.asarray(value))
    return None


def _describe_index(flat, shape):
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()


def _compare(actual, expected, rtol, atol, equal_nan, check_dtype, msg, path):
    a, e = _as_tensor(actual), _as_tensor(expected)
    if a is None or e is None:
        if actual != expected:
            raise AssertionError(msg or f"Values {actual!r} and {expected!r} are not equal{path}")
        return
    if tuple(a.shape) != tuple(e.shape):
        raise AssertionError(msg or f"The values for attribute 'shape' do not match: "
                             f"{a.shape} != {e.shape}.{path}")  # fmt: skip
    if check_dtype and isinstance(actual, Tensor) and isinstance(expected, Tensor):
        if a.dtype != e.dtype:
            raise AssertionError(msg or f"The values for attribute 'dtype' do not match: "
                                 f"{a.dtype} != {e.dtype}.{path}")  # fmt: skip
    default = _DEFAULT_TOLERANCES.get(e.dtype.name, (0.0, 0.0))
    if (rtol is None) != (atol is None):
        raise ValueError("Both 'rtol' and 'atol' must be either specified or omitted")
    rtol, atol = default if rtol is None else (rtol, atol)
    x = a.detach().numpy().astype(np.complex128 if e.dtype.is_complex else np.float64)
    y = e.detach().numpy().astype(np.complex128 if e.dtype.is_complex else np.float64)
    if a.dtype == _dtype.bool or e.dtype == _dtype.bool:
        x, y = x.astype(bool).astype(np.float64), y.astype(bool).astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(x - y)
        close = diff <= atol + rtol * np.abs(y)
        close |= x == y  # equal infinities
        if equal_nan:
            close |= np.isnan(x) & np.isnan(y)
    if close.all():
        return
    bad = int((~close).sum())
    total = close.size
    kind = "Scalars" if not close.shape else "Tensor-likes"
    if not close.shape:
        text = (f"{kind} are not close!\n\nExpected {y.item()} but got {x.item()}.\n"
                f"Absolute difference: {diff.item()} (up to {atol} allowed)\n"
                f"Relative difference: {diff.item() / abs(y.item()) if y.item() else math.inf} "
                f"(up to {rtol} allowed)")  # fmt: skip
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            relative = np.where(np.abs(y) > 0, diff / np.abs(y), np.where(diff > 0, np.inf, 0))
        exact = rtol == 0 and atol == 0
        lines = [f"{kind} are not {'equal' if exact else 'close'}!", "",
                 f"Mismatched elements: {bad} / {total} ({100 * bad / total:.1f}%)"]  # fmt: skip
        integral = not (a.dtype.is_floating_point or a.dtype.is_complex)
        for name, values, tol in (("absolute", diff, atol), ("relative", relative, rtol)):
            flat = values.reshape(-1)
            nans = np.flatnonzero(np.isnan(flat))
            at = int(nans[0]) if nans.size else int(flat.argmax())
            value = int(flat[at]) if integral and name == "absolute" else flat[at]
            limit = "" if exact else f" (up to {tol} allowed)"
            lines.append(f"Greatest {name} difference: {value} at index "
                         f"{_describe_index(at, close.shape)}{limit}")  # fmt: skip
        text = "\n".join(lines)
    if callable(msg):
        text = msg(text)
    elif msg:
        text = msg
    raise AssertionError(text + path)


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None,
                 equal_nan=False, check_device=True, check_dtype=True, check_layout=True,
                 check_stride=False, msg=None, _path=""):  # fmt: skip
    """Raise AssertionError unless ``actual`` and ``expected`` are close (see the module)."""
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        if set(actual) != set(expected):
            raise AssertionError(f"The keys of the mappings do not match: {sorted(actual)} != "
                                 f"{sorted(expected)}{_path}")  # fmt: skip
        for key in expected:
            where = f"{_path}\nThe failure occurred for item [{key!r}]"
            assert_close(actual[key], expected[key], rtol=rtol, atol=atol, equal_nan=equal_nan,
                         check_dtype=check_dtype, msg=msg, _path=where)  # fmt: skip
        return
    nested = isinstance(expected, Sequence) and not isinstance(expected, str)
    if nested and isinstance(actual, Sequence) and not isinstance(actual, str):
        if len(actual) != len(expected):
            raise AssertionError(f"The length of the sequences mismatch: {len(actual)} != "
                                 f"{len(expected)}{_path}")  # fmt: skip
        for i, (a, e) in enumerate(zip(actual, expected)):
            where = f"{_path}\nThe failure occurred for item [{i}]"
            assert_close(a, e, rtol=rtol, atol=atol, equal_nan=equal_nan,
                         check_dtype=check_dtype, msg=msg, _path=where)  # fmt: skip
        return
    _compare(actual, expected, rtol, atol, equal_nan, check_dtype, msg, _path)


def make_tensor(*shape, dtype, device=None, low=None, high=None, requires_grad=False,
                noncontiguous=False, exclude_zero=False, memory_format=None):  # fmt: skip
    """A tensor of ``shape`` with values drawn uniformly from [low, high) for ``dtype``."""
    import ember

    if len(shape) == 1 and isinstance(shape[0], Sequence):
        shape = tuple(shape[0])
    dtype = _dtype.to_dtype(dtype)
    if dtype == _dtype.bool:
        out = ember.randint(0, 2, shape).to(_dtype.bool)
    elif dtype.is_floating_point or dtype.is_complex:
        lo, hi = -9.0 if low is None else low, 9.0 if high is None else high
        out = ember.empty(shape, dtype=dtype).uniform_(lo, hi)
    else:
        info = np.iinfo(dtype.np)
        lo = max(-9 if low is None else int(low), int(info.min))
        hi = min(10 if high is None else int(high), int(info.max))
        out = ember.randint(lo, hi, shape, dtype=dtype)
    if exclude_zero:
        tiny = 1 if not dtype.is_floating_point else float(np.finfo(dtype.np).tiny)
        out = ember.where(out == 0, ember.full_like(out, tiny), out)
    if noncontiguous and out.numel() > 1:
        out = ember.repeat_interleave(out.flatten(), 2)[::2].reshape(shape)
    return out.requires_grad_(requires_grad) if requires_grad else out
