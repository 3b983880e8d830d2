"""Tensor printing in PyTorch's format: ``tensor([[1., 2.], [3., 4.]], requires_grad=True)``."""

import numpy as np

from ember import _dtype

_options = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80, "sci_mode": None}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):  # fmt: skip
    if profile == "default":
        _options.update(precision=4, threshold=1000, edgeitems=3, linewidth=80)
    elif profile == "short":
        _options.update(precision=2, threshold=1000, edgeitems=2, linewidth=80)
    elif profile == "full":
        _options.update(precision=4, threshold=float("inf"), edgeitems=3, linewidth=80)
    for k, v in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                 ("linewidth", linewidth)):  # fmt: skip
        if v is not None:
            _options[k] = v
    _options["sci_mode"] = sci_mode


def _float_formatter(values):
    p = _options["precision"]
    finite = values[np.isfinite(values)]
    nonzero = np.abs(finite[finite != 0])
    if finite.size and np.all(finite == np.round(finite)):
        if nonzero.size and (nonzero.max() > 1e8):
            return lambda v: _special(v) or f"{v:.{p}e}"
        return lambda v: _special(v) or f"{v:.0f}."
    sci = _options["sci_mode"]
    if sci is None:
        sci = bool(nonzero.size) and (
            nonzero.max() / nonzero.min() > 1000.0 or nonzero.max() > 1e8 or nonzero.min() < 1e-4
        )
    if sci:
        return lambda v: _special(v) or f"{v:.{p}e}"
    return lambda v: _special(v) or f"{v:.{p}f}"


def _special(v):
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return None


def _formatter(arr):
    kind = arr.dtype.kind
    if kind == "b":
        return lambda v: "True" if v else "False"
    if kind in "iu":
        return str
    if kind == "c":
        return _complex_formatter(arr.reshape(-1))
    return _float_formatter(arr.astype(np.float64).reshape(-1))


def _complex_formatter(values):
    """Real parts right-aligned in one column, imaginary parts signed after them (``1.+2.j``),
    each part formatted over all values of that part, as PyTorch does."""
    real_fmt = _float_formatter(values.real.astype(np.float64))
    imag_fmt = _float_formatter(values.imag.astype(np.float64))
    real_width = max(len(real_fmt(v)) for v in values.real.tolist())
    imag_width = max(len(imag_fmt(v)) for v in values.imag.tolist())

    def fmt(v):
        imag = imag_fmt(v.imag) + "j"
        return real_fmt(v.real).rjust(real_width) + (imag if imag[0] in "+-" else "+" + imag)

    fmt.line_width = real_width + imag_width + 1  # what PyTorch counts per value when wrapping
    return fmt


def _summarised(arr):
    return arr.size > _options["threshold"]


def _body(arr, fmt, width, indent, summarise):
    edge = _options["edgeitems"]
    if arr.ndim == 0:
        return fmt(arr.item()).rjust(width)
    n = arr.shape[0]
    idx = list(range(n))
    if summarise and n > 2 * edge:
        idx = list(range(edge)) + [None] + list(range(n - edge, n))
    if arr.ndim == 1:
        items = ["..." if i is None else fmt(arr[i].item()).rjust(width) for i in idx]
        per_line = max(
            1, (_options["linewidth"] - indent) // (getattr(fmt, "line_width", width) + 2)
        )
        lines = [", ".join(items[k : k + per_line]) for k in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    sep = "," + "\n" * (arr.ndim - 1) + " " * (indent + 1)
    parts = ["..." if i is None else _body(arr[i], fmt, width, indent + 1, summarise) for i in idx]
    return "[" + sep.join(parts) + "]"


def tensor_repr(t):
    if t.is_meta:  # no values to show: the size stands in for them, as in PyTorch
        suffix = ["device='meta'", f"size={tuple(t.shape)}", *_dtype_and_grad(t, values=False)]
        return "tensor(..., " + ", ".join(suffix) + ")"
    arr = t._data if isinstance(t._data, np.ndarray) else t._data.get()
    if t.dtype is _dtype.bfloat16 or arr.dtype == np.float16:
        shown = arr.astype(np.float32)
    else:
        shown = arr
    suffix = []
    if t.device.type != "cpu":
        suffix.append(f"device='{t.device}'")
    indent = len("tensor(")
    if arr.size == 0:
        body = "[]"
        if arr.shape != (0,):
            suffix.insert(0, f"size={tuple(arr.shape)}")
    else:
        summarise = _summarised(arr)
        sample = shown
        if summarise:
            sample = _edges(shown)
        fmt = _formatter(sample)
        width = max(len(fmt(v)) for v in sample.reshape(-1).tolist())
        if arr.dtype.kind == "c":  # the real parts are aligned; whole values are not padded
            width = 0
        body = _body(shown, fmt, width, indent, summarise)
    suffix += _dtype_and_grad(t)
    return "tensor(" + body + "".join(", " + s for s in suffix) + ")"


def _dtype_and_grad(t, values=True):
    """The ``dtype=`` and autograd parts of a repr. The dtype is left out when it is the
    default float dtype, or when printed values show it (int64 and bool)."""
    suffix = []
    default = _dtype.get_default_dtype()
    shown = (default, default.to_complex(), _dtype.int64, _dtype.bool) if values else ()
    if t.dtype is not default and t.dtype not in shown:
        suffix.append(f"dtype={t.dtype}")
    if t.grad_fn is not None:
        suffix.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffix.append("requires_grad=True")
    return suffix


def _edges(arr):
    edge = _options["edgeitems"]
    for axis in range(arr.ndim):
        if arr.shape[axis] > 2 * edge:
            arr = np.concatenate(
                [np.take(arr, range(edge), axis), np.take(arr, range(-edge, 0), axis)], axis
            )
    return arr
