"""NumPy's keyword names ``axis=`` and ``keepdims=`` against PyTorch.

PyTorch accepts them on every op bound through its C argument parser whose native schema
has ``dim`` / ``keepdim``. The list of such ops is read from torch itself at test time, and
every one that ember has must appear in ``CASES`` below, where it is called in both
libraries with the aliases and the results compared.
"""

import types

import numpy as np
import pytest
import torch

import ember

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4))
V3 = RNG.standard_normal((4, 3))
IDX = np.array([[0, 1, 2, 0], [2, 0, 1, 1]])


def _x(lib):
    return lib.tensor(X)


def _cases():
    """(namespace, name, make): ``make(lib)`` gives (args, kwargs) in the ``dim=`` form."""
    t = _x
    idx = lambda lib: lib.tensor(IDX)  # noqa: E731
    row_idx = lambda lib: lib.tensor([2, 0])  # noqa: E731
    reductions_keep = [
        "all", "any", "amax", "amin", "argmax", "argmin", "logsumexp", "max", "mean", "median",
        "min", "mode", "nanmean", "nanmedian", "nansum", "prod", "std", "sum", "var",
    ]  # fmt: skip
    along = ["argsort", "count_nonzero", "cummax", "cummin", "cumprod", "cumsum", "diff",
             "logcumsumexp", "softmax", "log_softmax", "sort", "unbind", "unsqueeze"]  # fmt: skip
    common = {}
    for name in reductions_keep:
        common[name] = lambda lib: ((t(lib),), {"dim": 1, "keepdim": True})
    for name in along:
        common[name] = lambda lib: ((t(lib),), {"dim": 1})
    common.update(
        aminmax=lambda lib: ((t(lib),), {"dim": 0, "keepdim": True}),
        quantile=lambda lib: ((t(lib), 0.25), {"dim": 1, "keepdim": True}),
        kthvalue=lambda lib: ((t(lib), 2), {"dim": 1, "keepdim": True}),
        topk=lambda lib: ((t(lib), 2), {"dim": 0}),
        squeeze=lambda lib: ((t(lib).reshape(3, 1, 4),), {"dim": 1}),
        chunk=lambda lib: ((t(lib), 2), {"dim": 1}),
        narrow=lambda lib: ((t(lib),), {"dim": 1, "start": 1, "length": 2}),
        repeat_interleave=lambda lib: ((t(lib), 2), {"dim": 0}),
        select=lambda lib: ((t(lib),), {"dim": 1, "index": 2}),
        tensor_split=lambda lib: ((t(lib), 2), {"dim": 1}),
        gather=lambda lib: ((t(lib),), {"dim": 0, "index": idx(lib)}),
        take_along_dim=lambda lib: ((t(lib),), {"indices": idx(lib), "dim": 0}),
        index_select=lambda lib: ((t(lib),), {"dim": 0, "index": row_idx(lib)}),
        index_fill=lambda lib: ((t(lib),), {"dim": 0, "index": row_idx(lib), "value": -1.0}),
        index_add=lambda lib: ((t(lib),), {"dim": 0, "index": row_idx(lib), "source": t(lib)[:2]}),
        index_copy=lambda lib: (
            (t(lib),),
            {"dim": 0, "index": row_idx(lib), "source": t(lib)[:2] * 2},
        ),
        scatter=lambda lib: ((t(lib),), {"dim": 0, "index": idx(lib), "src": t(lib)[:2] * 3}),
        scatter_add=lambda lib: ((t(lib),), {"dim": 0, "index": idx(lib), "src": t(lib)[:2]}),
        scatter_reduce=lambda lib: (
            (t(lib),),
            {"dim": 0, "index": idx(lib), "src": t(lib)[:2], "reduce": "amax"},
        ),
        cross=lambda lib: ((lib.tensor(V3), lib.tensor(V3[::-1].copy())), {"dim": 1}),
        index_reduce=lambda lib: (
            (t(lib),),
            {"dim": 0, "index": row_idx(lib), "source": t(lib)[:2], "reduce": "prod"},
        ),
        renorm=lambda lib: ((t(lib), 2), {"dim": 0, "maxnorm": 1.0}),
        select_scatter=lambda lib: ((t(lib), t(lib)[:, 0] * 2), {"dim": 1, "index": 0}),
        slice_scatter=lambda lib: ((t(lib), t(lib)[:, :2] * 2), {"dim": 1, "start": 0, "end": 2}),
        split_with_sizes=lambda lib: ((t(lib), [1, 3]), {"dim": 1}),
    )
    common.update(
        nanquantile=common["quantile"], narrow_copy=common["narrow"],
        unsafe_chunk=common["chunk"], unsafe_split_with_sizes=common["split_with_sizes"],
    )  # fmt: skip
    cases = []
    for name, make in common.items():
        cases.append(("Tensor", name, make))
        cases.append(("torch", name, make))
    for name in ("cumsum_", "squeeze_", "unsqueeze_", "index_fill_", "index_add_", "index_copy_",
                 "scatter_", "scatter_add_", "scatter_reduce_", "cumprod_", "index_reduce_",
                 "renorm_"):  # fmt: skip
        cases.append(("Tensor", name, common[name.rstrip("_")]))
    listed = lambda lib: (([t(lib), t(lib)],), {"dim": 1})  # noqa: E731
    two = lambda lib: ((t(lib), t(lib).flip(0)), {"dim": 1})  # noqa: E731
    cases += [
        ("torch", "cat", listed), ("torch", "concat", listed), ("torch", "stack", listed),
        ("torch", "concatenate", listed),
        ("torch", "squeeze_copy", common["squeeze"]), ("torch", "std_mean", common["std"]),
        ("torch", "var_mean", common["var"]), ("torch", "trapezoid", common["cumsum"]),
        ("torch", "trapz", common["cumsum"]), ("torch", "cumulative_trapezoid", common["cumsum"]),
        ("torch", "unflatten", lambda lib: ((t(lib),), {"dim": 1, "sizes": (2, 2)})),
        ("torch", "cosine_similarity", two), ("nn.functional", "cosine_similarity", two),
        ("torch", "pairwise_distance", lambda lib: ((t(lib), t(lib) * 2), {"keepdim": True})),
        ("nn.functional", "pairwise_distance",
         lambda lib: ((t(lib), t(lib) * 2), {"keepdim": True})),
        ("linalg", "cross", common["cross"]), ("linalg", "vector_norm", common["sum"]),
        ("linalg", "norm", common["sum"]),
        ("linalg", "matrix_norm", lambda lib: ((t(lib),), {"dim": (0, 1), "keepdim": True})),
        ("special", "softmax", common["softmax"]), ("special", "log_softmax", common["softmax"]),
        ("special", "logsumexp", common["sum"]),
        ("linalg", "vecdot", two), ("torch", "gradient", common["cumsum"]),
        ("torch", "select_copy", common["select"]), ("torch", "unbind_copy", common["unbind"]),
        ("torch", "unsqueeze_copy", common["unsqueeze"]),
        ("torch", "slice_copy", lambda lib: ((t(lib),), {"dim": 1, "start": 1, "end": 3})),
        ("torch", "split_copy", common["chunk"]),
        ("torch", "split_with_sizes_copy", common["split_with_sizes"]),
    ]  # fmt: skip
    for name in ("fft", "ifft", "rfft", "irfft", "hfft", "ihfft", "fftshift", "ifftshift"):
        cases.append(("fft", name, lambda lib: ((_x(lib),), {"dim": 0})))
    for name in ("fft2", "ifft2", "rfft2", "irfft2", "hfft2", "ihfft2",
                 "fftn", "ifftn", "rfftn", "irfftn", "hfftn", "ihfftn"):  # fmt: skip
        cases.append(("fft", name, lambda lib: ((_x(lib),), {"dim": (0, 1)})))
    return cases


CASES = {(ns, name): make for ns, name, make in _cases()}


def _namespace(lib, ns):
    return {
        "torch": lib,
        "Tensor": lib.Tensor,
        "nn.functional": lib.nn.functional,
        "linalg": lib.linalg,
        "special": lib.special,
        "fft": lib.fft,
    }[ns]


def _numpy_form(kwargs):
    renamed = {"dim": "axis", "keepdim": "keepdims"}
    return {renamed.get(k, k): v for k, v in kwargs.items()}


def _call(lib, ns, name, numpy_names=True):
    args, kwargs = CASES[ns, name](lib)
    if numpy_names:
        kwargs = _numpy_form(kwargs)
    if ns == "Tensor":
        self, *rest = args
        return getattr(self.clone() if name.endswith("_") else self, name)(*rest, **kwargs)
    return getattr(_namespace(lib, ns), name)(*args, **kwargs)


def _arrays(result):
    if isinstance(result, tuple | list):
        return [_arrays(r) for r in result]
    return result.detach().resolve_conj().numpy() if hasattr(result, "detach") else result


def _assert_same(got, want):
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            _assert_same(g, w)
        return
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
    assert np.asarray(got).dtype == np.asarray(want).dtype


@pytest.mark.parametrize("ns,name", list(CASES), ids=[f"{ns}.{name}" for ns, name in CASES])
def test_numpy_names_match_torch(ns, name):
    want = _arrays(_call(torch, ns, name))
    _assert_same(_arrays(_call(ember, ns, name)), want)
    # and the aliases mean exactly what the PyTorch names mean
    _assert_same(_arrays(_call(ember, ns, name, numpy_names=False)), want)


_C_CALLABLES = (types.BuiltinFunctionType, types.MethodDescriptorType)
_SCHEMA_PREFIX = {"linalg": "linalg_", "special": "special_", "fft": "fft_"}
_ACCEPTS_ANYTHING = {"is_vulkan_available", "quantized_gru", "quantized_lstm"}


def _torch_ops_with_dim():
    """(namespace, name) of every torch op whose argument parser maps axis/keepdims."""
    found = set()
    for ns in ("torch", "Tensor", "nn.functional", "linalg", "special", "fft"):
        owner = _namespace(torch, ns)
        for name in dir(owner):
            if name.startswith("_") or name in _ACCEPTS_ANYTHING:
                continue
            if not isinstance(getattr(owner, name, None), _C_CALLABLES):
                continue
            schema_name = "aten::" + _SCHEMA_PREFIX.get(ns, "") + name
            schemas = torch._C._jit_get_schemas_for_operator(schema_name)
            params = {a.name for s in schemas for a in s.arguments}
            if params & {"dim", "keepdim"}:
                found.add((ns, name))
    return found


# Left out: Tensor's own size/stride methods, and unsafe_split, which in ember is the same
# object as torch.split (a Python function in PyTorch, refusing ``axis=``).
_NOT_COVERED = {("Tensor", "size"), ("Tensor", "stride"), ("torch", "unsafe_split"),
                ("Tensor", "unsafe_split")}  # fmt: skip


def test_every_op_torch_aliases_is_covered():
    ember_has = {
        (ns, name)
        for ns, name in _torch_ops_with_dim()
        if hasattr(_namespace(ember, ns), name) and (ns, name) not in _NOT_COVERED
    }
    missing = ember_has - set(CASES)
    assert not missing, (
        f"ops that take axis=/keepdims= in PyTorch: {sorted(missing)}; decorate them with "
        "ember._ops._numpy_kwargs.numpy_kwargs and add them to CASES"
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.split(_x(lib), 2, axis=1),
        lambda lib: _x(lib).split(2, axis=1),
        lambda lib: lib.norm(_x(lib), axis=1),
        lambda lib: lib.relu(_x(lib), axis=1),
        lambda lib: lib.flatten(_x(lib), axis=0),
        lambda lib: lib.cumsum(_x(lib), 1, keepdims=True),
    ],
    ids=["split", "Tensor.split", "norm", "relu", "flatten", "cumsum-keepdims"],
)
def test_ops_without_the_aliases_reject_them(call):
    with pytest.raises(TypeError):
        call(torch)
    with pytest.raises(TypeError):
        call(ember)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: lib.sum(_x(lib), dim=0, axis=0),
        lambda lib: _x(lib).mean(1, axis=1),
        lambda lib: lib.amax(_x(lib), 0, keepdim=True, keepdims=True),
        lambda lib: lib.cat([_x(lib)], dim=0, axis=0),
    ],
    ids=["dim-and-axis", "positional-and-axis", "keepdim-and-keepdims", "cat"],
)
def test_both_names_raise_type_error(call):
    with pytest.raises(TypeError):
        call(torch)
    with pytest.raises(TypeError, match="dim|axis|keepdim"):
        call(ember)
