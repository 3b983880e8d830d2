"""The op table runner: one declarative row per op, checked against PyTorch.

A row names the op (``fn(lib, *tensors)`` runs it in either library), sample inputs as NumPy
arrays, and what to check. ``check_row`` compares, for ember and torch on the same inputs:
forward values and dtype, gradients of a random weighted sum of the outputs, gradcheck in
float64 against finite differences, and double backward (against torch and by gradgradcheck)
where the row asks for it. Every graph node the op records is also inspected: an array or
Tensor kept on the node other than through ``save_for_backward`` (a "stash") escapes the
check that a saved tensor was not modified in place and outlives backward, so it fails the row
unless ``STASH_ALLOWED`` names it with a reason.

A row that names the registry kernels it runs (``kernels=("conv2d", ...)``) is checked once
per backend that registered one of them (``backend_cases``), with dispatch restricted to that
backend, and fails unless each named kernel of that backend really ran. A dtype the backend
declines is left out; a backend that declines every dtype of the row is checked in float32
(with a float32 tolerance), and skipped only if it declines that too.

Float sample arrays are cast to each of the row's dtypes; integer and bool arrays keep their
dtype (so mixed rows check type promotion). A dtype of ``None`` keeps every array's own dtype.
A non-contiguous sample array (for example ``a.T``) becomes a tensor with the same strides in
both libraries, so ops are also checked on non-contiguous views.
"""

from dataclasses import dataclass, field, replace

import numpy as np
import pytest
import torch

import ember
from ember.backends import registry


@dataclass
class Row:
    name: str
    fn: object  # fn(lib, *tensors) -> tensor or tuple of tensors
    inputs: list  # list of tuples of NumPy arrays (one tuple per sample)
    grad: bool = True  # differentiable in the float inputs
    gradcheck: bool = True
    double_backward: bool = False
    dtypes: tuple = ("float32", "float64")
    rtol: float = 1e-5
    atol: float = 1e-6
    nondiff_args: tuple = field(default_factory=tuple)  # indices of inputs not to differentiate
    kernels: tuple = ()  # registry kernels the op runs: the row is checked on each backend

    def __str__(self):
        return self.name


def _outputs(out):
    """The tensors of an op's result, flattening nested tuples (such as (values, indices))."""
    if isinstance(out, tuple | list):
        return [t for o in out for t in _outputs(o)]
    return [out] if hasattr(out, "shape") else []


def _make(lib, arrays, dtype, row, requires_grad, contiguous=False):
    ts = []
    for i, a in enumerate(arrays):
        bf16 = dtype == "bfloat16" and a.dtype.kind == "f"  # NumPy has no bfloat16 of its own
        if dtype is not None and a.dtype.kind == "f":
            a = a.astype("float32" if bf16 else dtype)  # keeps a transposed layout
        if contiguous or a.flags.c_contiguous:
            t = lib.tensor(a)
        else:
            t = lib.from_numpy(a.copy(order="K"))  # same strides, memory of its own
        if bf16:
            t = t.to(lib.bfloat16)
        if requires_grad and a.dtype.kind == "f" and i not in row.nondiff_args:
            t.requires_grad_(True)
        ts.append(t)
    return ts


def _np(t):
    t = t.detach()
    if str(t.dtype).endswith("bfloat16"):
        t = t.float()
    return t.numpy(force=True)  # torch's zero gradients may be a ZeroTensor


def check_forward(row, arrays, dtype):
    ref = _outputs(row.fn(torch, *_make(torch, arrays, dtype, row, False)))
    got = _outputs(row.fn(ember, *_make(ember, arrays, dtype, row, False)))
    assert len(ref) == len(got), f"{row.name}: {len(got)} outputs, torch gives {len(ref)}"
    for r, g in zip(ref, got):
        assert str(g.dtype).split(".")[-1] == str(r.dtype).split(".")[-1], (
            f"{row.name}: dtype {g.dtype} vs torch {r.dtype}"
        )
        assert tuple(g.shape) == tuple(r.shape), f"{row.name}: shape {g.shape} vs {r.shape}"
        np.testing.assert_allclose(_np(g), _np(r), rtol=row.rtol, atol=row.atol, err_msg=row.name)


def _weighted_sum(lib, tensors, seed, dtype):
    """sum(t * w) over the tensors that require grad; the k-th tensor's weight depends only on
    ``seed + k``, so that both libraries weigh the same output alike even where one of them
    records no graph for another output (a sign, an index, a constant)."""
    terms = [
        (
            t
            * lib.tensor(
                np.random.default_rng(seed + k).standard_normal(tuple(t.shape)).astype(dtype)
            )
        ).sum()
        for k, t in enumerate(tensors)
        if t is not None and t.requires_grad
    ]
    return sum(terms) if terms else None


def _grads(lib, total, diff, **kwargs):
    if total is None:
        return [None] * len(diff)
    return list(lib.autograd.grad(total, diff, allow_unused=True, **kwargs))


def _compare(row, ref, got, what, rtol, atol):
    for r, g in zip(ref, got):
        if r is None or g is None:  # no gradient is right where the other one is zero
            other = r if g is None else g
            assert other is None or np.allclose(other, 0), f"{row.name}: {what} differs"
            continue
        np.testing.assert_allclose(g, r, rtol=rtol, atol=atol, err_msg=f"{row.name}: {what}")


# Attributes through which the autograd machinery itself keeps tensors on a node.
_NODE_INTERNALS = frozenset({"_edges", "_saved", "_saved_versions", "_to_save_forward"})

_SIZES_ONLY = "positions or weights computed from sizes alone, never from tensor values"
_MASK = "a mask (or rounding) of the input formed in forward; its own derivative is zero"
_KEY = "an indexing key, which save_for_backward cannot hold; its index tensors are saved too"
_CACHE = "intermediates of forward, never a user tensor; the inputs are saved for the version check"

# (node class, attribute) -> why an array kept there outside save_for_backward is safe.
STASH_ALLOWED = {
    ("AvgPool", "divisor"): _SIZES_ONLY,
    ("IndexPad", "maps"): _SIZES_ONLY,
    ("_NearestGather", "indices"): _SIZES_ONLY,
    ("_Separable", "weights"): _SIZES_ONLY,
    ("_Mask", "mask"): _SIZES_ONLY,
    ("Clamp", "keep"): _MASK,
    ("Clamp", "lo_mask"): _MASK,
    ("Clamp", "hi_mask"): _MASK,
    ("Maximum", "mask"): _MASK,
    ("Maximum", "tie"): _MASK,
    ("Minimum", "mask"): _MASK,
    ("Minimum", "tie"): _MASK,
    ("Threshold", "mask"): _MASK,
    ("LeakyRelu", "slope_mask"): _MASK,
    ("Fmod", "quot"): _MASK,
    ("Remainder", "quot"): _MASK,
    ("GetItem", "key"): _KEY,
    ("SetItem", "key"): _KEY,
    ("IndexFill", "key"): _KEY,
    ("ScatterReduce", "count"): _CACHE,
    ("GridSample", "state"): _CACHE,
    ("LSTMLayer", "saved"): _CACHE,
    ("GRULayer", "saved"): _CACHE,
    ("RNNLayer", "saved"): _CACHE,
    ("_SvdVals", "svd"): _CACHE,
}


def _holds_array(value, depth=0):
    if isinstance(value, np.ndarray | ember.Tensor):
        return True
    if depth < 2 and isinstance(value, tuple | list):
        return any(_holds_array(v, depth + 1) for v in value)
    if depth < 2 and isinstance(value, dict):
        return any(_holds_array(v, depth + 1) for v in value.values())
    return False


def _graph_nodes(outputs):
    """Every node of the graph behind ``outputs`` (not the leaves)."""
    stack = [o.grad_fn for o in outputs if o.grad_fn is not None]
    seen = {}
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen[id(node)] = node
            stack += [e[0] for e in vars(node).get("_edges", ()) if e is not None and e[1] >= 0]
    return list(seen.values())


def stashes(outputs):
    """(node class, attribute) of every array or Tensor kept on a node of the graph behind
    ``outputs`` other than through ``save_for_backward``."""
    return sorted(
        {
            (type(node).__name__, name)
            for node in _graph_nodes(outputs)
            for name, value in vars(node).items()
            if name not in _NODE_INTERNALS and _holds_array(value)
        }
    )


def check_stash(row, outputs):
    found = [s for s in stashes(outputs) if s not in STASH_ALLOWED]
    assert not found, (
        f"{row.name}: arrays kept on graph nodes outside save_for_backward (node, attribute): "
        f"{found}"
    )


def check_backward(row, arrays, dtype):
    grads = []
    for lib in (torch, ember):
        ts = _make(lib, arrays, dtype, row, True)
        outputs = _outputs(row.fn(lib, *ts))
        if lib is ember:
            check_stash(row, outputs)
        total = _weighted_sum(lib, outputs, 100, dtype)
        diff = [t for t in ts if t.requires_grad]
        grads.append([None if g is None else _np(g) for g in _grads(lib, total, diff)])
    _compare(row, *grads, "gradient", row.rtol * 10, row.atol * 10)


def check_double_backward(row, arrays):
    """Second derivatives against torch: the gradient of a weighted sum of first gradients."""
    results = []
    for lib in (torch, ember):
        ts = _make(lib, arrays, "float64", row, True)
        total = _weighted_sum(lib, _outputs(row.fn(lib, *ts)), 100, "float64")
        diff = [t for t in ts if t.requires_grad]
        firsts = _grads(lib, total, diff, create_graph=True)
        second = _weighted_sum(lib, firsts, 200, "float64")
        results.append([None if g is None else _np(g) for g in _grads(lib, second, diff)])
    # A missing second derivative is right where torch's is zero (abs, floor, max, ...).
    _compare(row, *results, "second derivative", 1e-6, 1e-8)


def check_gradcheck(row, arrays):
    ts = _make(ember, arrays, "float64", row, True, contiguous=True)
    n = len(ts)

    def f(*xs):
        return tuple(_outputs(row.fn(ember, *xs[:n])))

    assert ember.autograd.gradcheck(f, ts, eps=1e-6, atol=1e-5, rtol=1e-3), row.name
    if row.double_backward:
        assert ember.autograd.gradgradcheck(f, ts, eps=1e-6, atol=1e-5, rtol=1e-3), row.name


def _check_dtypes(row, arrays, dtypes):
    for dtype in dtypes:
        check_forward(row, arrays, dtype)
        if row.grad and dtype in ("float32", "float64"):
            check_backward(row, arrays, dtype)


def _check_float64_derivatives(row, arrays):
    if row.grad and row.double_backward:
        check_double_backward(row, arrays)
    if row.grad and row.gradcheck:
        check_gradcheck(row, arrays)


def check_row(row, arrays, backend=None):
    """Check ``row`` on one sample; with ``backend``, with dispatch restricted to it."""
    if backend is None:
        _check_dtypes(row, arrays, row.dtypes)
        _check_float64_derivatives(row, arrays)
    else:
        _check_on_backend(row, arrays, backend)


def _declined(error):
    """Whether ``error`` is the registry's refusal of a call no allowed backend serves."""
    return isinstance(error, NotImplementedError) and "among backends" in str(error)


def _try(check, *args):
    """Run ``check``; the registry's refusal message if the backend declined, else None."""
    try:
        check(*args)
    except NotImplementedError as error:
        if not _declined(error):
            raise
        return str(error)
    return None


def _forget_kernel_calls():
    """Clear the registry's per-thread record of which backend ran each kernel, so that
    ``registry.last_used`` afterwards speaks of this row's calls only."""
    vars(registry._allowed).pop("last", None)


def _check_on_backend(row, arrays, backend):
    _forget_kernel_calls()
    with registry.only(backend):
        refusals = [_try(_check_dtypes, row, arrays, (dtype,)) for dtype in row.dtypes]
        if None not in refusals and "float32" not in row.dtypes:
            loose = replace(row, rtol=max(row.rtol, 1e-4), atol=max(row.atol, 1e-5))
            refusals.append(_try(_check_dtypes, loose, arrays, ("float32",)))
        if None not in refusals:
            pytest.skip(f"{backend} declines {row.name}: {refusals[-1]}")
        if "float64" in row.dtypes:
            _try(_check_float64_derivatives, row, arrays)
    silent = [
        k
        for k in row.kernels
        if backend in registry.backends_for(k) and registry.last_used(k) != backend
    ]
    assert not silent, f"{row.name}: kernels {silent} of backend {backend} did not run"


def _backends(row):
    """The registered backends that implement one of the row's kernels: [None] (plain
    dispatch) for a row without kernels, or whose kernels no backend registered yet."""
    found = [
        b
        for b in registry.registered_backends()
        if any(b in registry.backends_for(k) for k in row.kernels)
    ]
    return found or [None]


def cases(rows):
    """pytest parameters: one (row, sample) pair per sample input."""
    return [
        pytest.param(row, sample, id=f"{row.name}-{i}")
        for row in rows
        for i, sample in enumerate(row.inputs)
    ]


def backend_cases(rows):
    """pytest parameters: one (row, sample, backend) triple per sample input and backend."""
    return [
        pytest.param(
            row, sample, backend, id=f"{row.name}-{i}" + (f"-{backend}" if backend else "")
        )
        for row in rows
        for i, sample in enumerate(row.inputs)
        for backend in _backends(row)
    ]
